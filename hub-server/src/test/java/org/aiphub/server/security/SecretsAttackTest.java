package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attack 17: fishing for secrets, and per-client credentials. The API key and a device's own token
 * (and the token's digest from the device config) never show in any log line (all loggers at DEBUG,
 * start-up included), any error body or frame, any {@code /api/*} answer, {@code /metrics}, what
 * the dashboard feed ({@code /api/events}) streams, the registry's records or the device info
 * constellations get. A {@code client_id} whose config entry has a {@code token_sha256} only
 * registers with the matching {@code metadata.auth_token}.
 */
class SecretsAttackTest {
  private static final String KEY = TestHub.KEY;
  private static final String TOKEN = "vault-device-token-5f1e0c2a9b";
  private static final String OTHER_TOKEN = "other-device-token-77aa01bc3d";

  @Test
  void perClientCredentialsAreRequiredAndNoSecretLeaksAnywhere(@TempDir Path dir) throws Exception {
    String digest = ClientTokens.sha256Hex(TOKEN);
    Path devices = dir.resolve("devices.json");
    Files.writeString(
        devices,
        "{\"devices\":{\"secure-dev\":{\"token_sha256\":\""
            + digest
            + "\",\"tags\":[\"vault\"]},\"other-secure\":{\"token_sha256\":\""
            + ClientTokens.sha256Hex(OTHER_TOKEN)
            + "\"}}}");
    String[] secrets = {KEY, TOKEN, OTHER_TOKEN, digest};
    List<String> seen = new ArrayList<>();
    try (LogCapture logs = LogCapture.attach(Level.DEBUG, "ROOT");
        Arena a = Arena.start(b -> b.set(DEVICE_CONFIG, devices));
        // A dashboard watching from the start: every delta and sample the attack causes.
        FeedViewer watching = FeedViewer.open(a)) {
      // Without the right credential the id cannot be taken: not without one, not with a wrong
      // one, another device's, the shared key, or one in the wrong place.
      List<String> attempts =
          List.of(
              Frames.registerDevice("secure-dev", null),
              Frames.registerDevice("secure-dev", "guess-0123456789"),
              Frames.registerDevice("secure-dev", OTHER_TOKEN),
              Frames.registerDevice("secure-dev", KEY),
              Frames.registerDevice("secure-dev", TOKEN + " "),
              Frames.registerDevice("secure-dev", digest),
              Frames.registerDevice("other-secure", TOKEN),
              tokenInSystemInfo("secure-dev"),
              tokenOfWrongType("secure-dev"));
      for (String attempt : attempts) {
        WsClient c = a.connect();
        c.send(attempt);
        ServerMessage refusal = Arena.assertError(c.next(), "requires its own credential");
        seen.add(refusal.error());
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      }
      assertThat(a.registry().isOnline("secure-dev")).isFalse();

      // With it, it registers; the token is not kept anywhere.
      WsClient secure = a.registered(Frames.registerDevice("secure-dev", TOKEN));
      ClientInfo info = a.registry().getClientInfo("secure-dev").orElseThrow();
      assertThat(info.metadata()).doesNotContainKey("auth_token");
      assertNoSecret(info.toString() + info.metadata() + info.systemInfo(), secrets);
      assertThat(info.tags()).containsExactly("vault");

      // What a constellation learns about the device.
      a.owner().send(Frames.infoRequest("constellation", Arena.OWNER, "secure-dev", "who"));
      ServerMessage described = a.owner().next();
      assertThat(described.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
      assertThat(described.status()).isEqualTo(TaskStatus.OK);
      assertThat(HubHttp.write(described.result())).contains("vault");
      seen.add(HubHttp.write(described.result()));

      // A round trip through the device, so sessions have something to show.
      a.owner().send(Frames.task(Arena.OWNER, "secure-dev", "vault-1", "list the vault"));
      assertThat(a.owner().next().sessionId()).isEqualTo("vault-1");
      assertThat(secure.next().sessionId()).isEqualTo("vault-1");
      secure.send(Frames.taskEnd("secure-dev", "vault-1", "completed", Map.of("ok", true)));
      ServerMessage end = a.owner().next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.sessionId()).isEqualTo("vault-1");

      // Every route, and refusals that carry the key in places it does not belong.
      for (String path :
          List.of(
              "/api/health",
              "/api/clients",
              "/api/devices",
              "/api/devices/secure-dev",
              "/api/devices/select?tag=vault",
              "/api/stats",
              "/api/sessions",
              "/api/sessions/vault-1",
              "/api/task_result/attack_task",
              "/metrics",
              "/healthz",
              "/api/nothing?token=" + KEY,
              "/ws/deeper?token=" + KEY)) {
        HubHttp.Reply r = a.http().get(path);
        assertThat(r.status()).as(path).isIn(200, 400, 404);
        seen.add(r.headers().map() + r.body());
      }
      seen.add(
          a.http().send(a.http().bare("/api/clients").header("X-API-Key", "wrong-key-000")).body());
      seen.add(a.http().send(a.http().bare("/api/events").header("X-API-Key", KEY + "x")).body());

      // The dashboard feed: what the early viewer saw stream by (the device joining, its session
      // running and ending), and a new viewer's snapshot of it all.
      seen.add(watching.awaitText("vault-1"));
      assertThat(watching.text()).contains("secure-dev").contains("\"type\":\"delta\"");
      try (FeedViewer late = FeedViewer.open(a)) {
        String snapshot = late.awaitText("\"type\":\"snapshot\"");
        assertThat(late.awaitText("vault-1")).contains("secure-dev").contains("vault");
        seen.add(snapshot + late.text());
      }
      for (String[] refused :
          List.of(
              new String[] {RawSocket.wsTarget(), "Host: evil.example.com"},
              new String[] {
                RawSocket.wsTarget(), RawSocket.host(a.hub()), "Origin: http://evil.example.com"
              },
              new String[] {"/ws?token=" + KEY + "x", RawSocket.host(a.hub())})) {
        RawSocket s = a.socket();
        String[] headers = new String[refused.length - 1];
        System.arraycopy(refused, 1, headers, 0, headers.length);
        s.write(RawSocket.upgrade(refused[0], headers));
        RawSocket.Reply r = s.readReply();
        assertThat(r.status()).isIn(401, 403);
        seen.add(r.head() + r.body());
      }
      seen.add(a.hub().server().metrics().scrape());
      seen.add(a.hub().server().config().toString());

      for (String text : seen) {
        assertNoSecret(text, secrets);
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
      LogChecks.assertNoneContains(logs, secrets);
      assertThat(logs.events()).as("the capture saw the hub at work").isNotEmpty();
    }
  }

  private static String tokenInSystemInfo(String id) {
    Map<String, Object> m = Frames.of("register", "ok", "device", id);
    m.put("metadata", Map.of("system_info", Map.of("auth_token", TOKEN)));
    return Frames.json(m);
  }

  private static String tokenOfWrongType(String id) {
    Map<String, Object> m = Frames.of("register", "ok", "device", id);
    m.put("metadata", Map.of("auth_token", List.of(TOKEN)));
    return Frames.json(m);
  }

  private static void assertNoSecret(String text, String... secrets) {
    for (String secret : secrets) {
      assertThat(text).doesNotContain(secret);
    }
  }
}
