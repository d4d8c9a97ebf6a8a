package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.MAX_CLIENT_INFO_BYTES;
import static org.aiphub.server.config.Settings.MAX_DEVICE_FEATURES;
import static org.aiphub.server.config.Settings.MAX_JSON_TOKENS;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.json.Collisions;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 2: keys chosen to share one {@code String.hashCode} ("Aa"/"BB" blocks). The hub
 * indexed JSON objects and feature sets by probing on that hash, so one 4 MB frame of 100,000
 * colliding keys cost seconds of event-loop time (6.5 s for 150,000), and four froze the hub. Now a
 * frame over {@code max_json_tokens} is refused while it is parsed, a registration with more than
 * {@code max_device_features} features is refused, and with both limits raised the same frames are
 * handled in O(n log n). Throughout, a canary device on the same event loops (two in tests, and one
 * attacker per loop at least) heartbeats and must be answered within a second each time; afterwards
 * the innocents are untouched.
 */
class HashCollisionAttackTest {
  /**
   * 100,000 keys of 17 blocks: 4.0 MB as a JSON object, under the 4 MiB frame limit. (The
   * one-letter prefix kept them clear of Jackson's field-name symbol table, which refused the
   * unprefixed family as a flood; the hub no longer uses that table for client frames.)
   */
  private static final List<String> KEYS = Collisions.keys(100_000, 17, "x");

  /** At least one per event loop (tests run two), sharing them with the canary. */
  private static final int ATTACKERS = 2;

  private static String collidingObject(List<String> keys) {
    StringBuilder b = new StringBuilder(keys.size() * 40).append('{');
    for (String k : keys) {
      b.append('"').append(k).append("\":0,");
    }
    b.setCharAt(b.length() - 1, '}');
    return b.toString();
  }

  private static String heartbeatWithMetadata(String id, String metadata) {
    return "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\""
        + id
        + "\",\"metadata\":"
        + metadata
        + "}";
  }

  private static String registerWithFeatures(String id, List<String> features) {
    StringBuilder b =
        new StringBuilder(features.size() * 40)
            .append("{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",")
            .append("\"client_id\":\"")
            .append(id)
            .append("\",\"metadata\":{\"platform\":\"linux\",\"system_info\":{")
            .append("\"supported_features\":[");
    for (String f : features) {
      b.append('"').append(f).append("\",");
    }
    b.setCharAt(b.length() - 1, ']');
    return b.append("}}}").toString();
  }

  private static Canary canary(Arena a) {
    WsClient c = a.device("canary-dev");
    return Canary.start(c, "canary-dev");
  }

  private static List<WsClient> attackers(Arena a) {
    List<WsClient> out = new ArrayList<>();
    for (int i = 0; i < ATTACKERS; i++) {
      out.add(a.device("mallory-" + i));
    }
    return out;
  }

  @Test
  void aFrameOfCollidingKeysIsRefusedByTheTokenBudgetAndOnlyItsSenderIsTold() {
    try (Arena a = Arena.start()) {
      Canary canary = canary(a);
      List<WsClient> mallory = attackers(a);
      String metadata = collidingObject(KEYS);
      for (int i = 0; i < ATTACKERS; i++) {
        mallory.get(i).send(heartbeatWithMetadata("mallory-" + i, metadata));
      }
      for (WsClient m : mallory) {
        Arena.assertError(m.next(), "more than 200000 JSON tokens (max_json_tokens)");
      }
      canary.closeAfter(3);
      canary.assertResponsive(3);
      for (int i = 0; i < ATTACKERS; i++) {
        Arena.assertOnlyAnswer(mallory.get(i), "mallory-" + i); // refused frame, open socket
      }
      assertThat(a.scraped("hub_limits_exceeded_total", "limit", "max_json_tokens"))
          .isEqualTo(ATTACKERS);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void withTheTokenBudgetRaisedCollidingKeysCostOnlyTheirParse() {
    try (Arena a = Arena.start(b -> b.set(MAX_JSON_TOKENS, 1_000_000))) {
      Canary canary = canary(a);
      List<WsClient> mallory = attackers(a);
      // Half the keys: still ~1.5 s per frame of probing before the fix, and under a tenth of a
      // second now even on a loaded machine (the 1 s bound failed once at 100,000 under load).
      String metadata = collidingObject(KEYS.subList(0, 50_000));
      for (int i = 0; i < ATTACKERS; i++) {
        mallory.get(i).send(heartbeatWithMetadata("mallory-" + i, metadata));
      }
      for (WsClient m : mallory) {
        ServerMessage reply = m.next();
        assertThat(reply.type()).as("%s", reply).isEqualTo(ServerMessageType.HEARTBEAT);
      }
      canary.closeAfter(3);
      canary.assertResponsive(3);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void collidingFeaturesAreRefusedPastMaxDeviceFeatures() {
    try (Arena a = Arena.start()) {
      Canary canary = canary(a);
      List<String> features = Collisions.keys(40_000, 16);
      for (int i = 0; i < ATTACKERS; i++) {
        WsClient m = a.connect();
        m.send(registerWithFeatures("mallory-" + i, features));
        Arena.assertError(
            m.next(),
            "metadata.system_info.supported_features has 40000 entries, more than"
                + " max_device_features (256)");
        assertThat(m.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
        assertThat(a.registry().isOnline("mallory-" + i)).isFalse();
      }
      canary.closeAfter(2);
      canary.assertResponsive(2);
      assertThat(a.scraped("hub_limits_exceeded_total", "limit", "max_device_features"))
          .isEqualTo(ATTACKERS);
      assertThat(a.scraped("hub_registrations_total", "outcome", "max_device_features"))
          .isEqualTo(ATTACKERS);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void withTheFeatureLimitsRaisedCollidingFeaturesAreIndexedInOLogN() {
    try (Arena a =
        Arena.start(b -> b.set(MAX_DEVICE_FEATURES, 100_000).set(MAX_CLIENT_INFO_BYTES, 4 << 20))) {
      Canary canary = canary(a);
      // Fewer than above: every feature costs an index entry (a set of device ids), so tens of
      // thousands per registration cost tenths of a second whatever their hashes; that is what
      // max_device_features bounds. These only show that colliding ones index correctly.
      List<String> features = Collisions.keys(5_000, 13);
      List<WsClient> mallory = new ArrayList<>();
      for (int i = 0; i < ATTACKERS; i++) {
        WsClient m = a.connect();
        m.send(registerWithFeatures("mallory-" + i, features));
        mallory.add(m);
      }
      for (WsClient m : mallory) {
        Clients.assertRegistered(m.next());
      }
      assertThat(a.registry().findDevicesWithCapability(features.get(3_137)))
          .containsExactlyInAnyOrder("mallory-0", "mallory-1");
      mallory.forEach(WsClient::close);
      canary.closeAfter(2);
      canary.assertResponsive(2);
      org.awaitility.Awaitility.await()
          .until(() -> a.registry().findDevicesWithCapability(features.get(0)).isEmpty());
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aDispatchBodyOfCollidingKeysIsRefusedBeforeItIsIndexed() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      String keys = collidingObject(Collisions.keys(25_000, 16, "x"));
      String body =
          "{\"client_id\":\""
              + Arena.DEVICE
              + "\",\"request\":\"x\",\"task_name\":\"collide\",\"junk\":"
              + keys
              + "}";
      assertThat(body.length()).isLessThan(1024 * 1024);
      assertThat(a.http().post("/api/dispatch", body).error(400))
          .isEqualTo("the body has more than 10000 JSON tokens");
      assertThat(a.sessions().latestDispatched("collide")).isEmpty();
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
