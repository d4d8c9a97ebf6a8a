package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;

/**
 * Attack 1: no key or a wrong key, on the WebSocket upgrade and on every keyed HTTP route, the
 * dashboard's live feed ({@code /api/events}) among them. Each try gets a 401 with a JSON reason,
 * never an upgrade or a stream, is counted in {@code hub_http_refusals_total{reason="bad_key"}},
 * and leaves the innocents alone.
 */
class AuthAttackTest {
  private static final String KEY = TestHub.KEY;
  private static final String WRONG = "wrong-key-0123456789";

  /** Request targets and extra header lines that each present no valid key on the upgrade. */
  private static List<String[]> badUpgrades() {
    List<String[]> out = new ArrayList<>();
    out.add(new String[] {"/ws"});
    out.add(new String[] {"/ws?token="});
    out.add(new String[] {"/ws?token=" + WRONG});
    out.add(new String[] {"/ws?token=" + KEY.substring(0, KEY.length() - 1)}); // a prefix
    out.add(new String[] {"/ws?token=" + KEY + "0"}); // one character more
    out.add(new String[] {"/ws?token=" + KEY.toUpperCase(Locale.ROOT)});
    out.add(new String[] {"/ws?key=" + KEY}); // the right key under the wrong name
    out.add(new String[] {"/ws?token=%00" + KEY});
    out.add(new String[] {"/ws", "Authorization: Bearer " + WRONG});
    out.add(new String[] {"/ws", "Authorization: Bearer"});
    out.add(new String[] {"/ws", "Authorization: " + KEY}); // no scheme
    out.add(
        new String[] {
          "/ws",
          "Authorization: Basic "
              + Base64.getEncoder().encodeToString(("u:" + KEY).getBytes(StandardCharsets.UTF_8))
        });
    out.add(new String[] {"/ws", "X-API-Key: " + KEY}); // the HTTP API's header, not the AIP one
    // Every key presented must be the key, whichever comes first (an empty one is absent).
    out.add(new String[] {"/ws?token=" + WRONG, "Authorization: Bearer " + KEY});
    out.add(new String[] {"/ws?token=" + KEY, "Authorization: Bearer " + WRONG});
    out.add(new String[] {"/ws?token=" + KEY + "&token=" + WRONG});
    out.add(new String[] {"/ws?token=", "Authorization: Bearer "});
    return out;
  }

  @Test
  void upgradesWithoutTheRightKeyGet401JsonAndNeverBecomeWebSockets() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      for (String[] attempt : badUpgrades()) {
        String[] headers = new String[attempt.length];
        headers[0] = RawSocket.host(a.hub());
        System.arraycopy(attempt, 1, headers, 1, attempt.length - 1);
        RawSocket s = a.socket();
        s.write(RawSocket.upgrade(attempt[0], headers));
        RawSocket.Reply r = s.readReply();
        String what = String.join(" + ", attempt);
        assertThat(r.error(401)).as(what).contains("missing or invalid API key");
        assertThat(r.headers()).as(what).containsEntry("www-authenticate", "Bearer");
        assertThat(r.headers()).as(what).doesNotContainKeys("upgrade", "sec-websocket-accept");
        assertThat(r.body()).as(what).doesNotContain(KEY);
        // No upgrade happened: WebSocket bytes sent anyway register nobody, and the hub hangs up.
        s.tryWrite(RawSocket.text(ClientFrames.registerDevice("intruder")));
        assertThat(s.closedByHub()).as("closed after the 401 for %s", what).isTrue();
      }
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      assertThat(a.bookkeeping()).isEqualTo(before);
      // Each try was counted by its reason. The per-address upgrade rate is off by default: these
      // quick tries from one address all reached the key check, none was held to a rate.
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key"))
          .isEqualTo(badUpgrades().size());
      assertThat(a.scraped("hub_http_refusals_total", "reason", "rate")).isZero();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void everyKeyedApiRouteRefusesAMissingOrWrongKeyWith401AndDoesNothing() {
    List<String> gets =
        List.of(
            "/api/health",
            "/api/clients",
            "/api/devices",
            "/api/devices/" + Arena.DEVICE,
            "/api/devices/select",
            "/api/stats",
            "/api/sessions",
            "/api/sessions/" + Arena.SESSION,
            "/api/task_result/" + Arena.TASK_NAME,
            "/metrics",
            "/api/events",
            "/api/clients?token=" + KEY); // the API takes no key in the URL
    List<String[]> badKeys =
        List.of(
            new String[0],
            new String[] {"X-API-Key", WRONG},
            new String[] {"X-API-Key", ""},
            new String[] {"X-API-Key", KEY.substring(1)},
            new String[] {"Authorization", "Bearer " + WRONG},
            new String[] {"Authorization", "Bearer " + KEY + KEY},
            new String[] {"Authorization", "Token " + KEY},
            new String[] {"Api-Key", KEY});
    String dispatch =
        HubHttp.write(Map.of("client_id", Arena.DEVICE, "request", "delete everything"));
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      List<HttpRequest.Builder> attempts = new ArrayList<>();
      for (String[] key : badKeys) {
        for (String path : gets) {
          attempts.add(withHeaders(a.http().bare(path).GET(), key));
        }
        attempts.add(
            withHeaders(
                a.http()
                    .bare("/api/dispatch")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(dispatch)),
                key));
        attempts.add(
            withHeaders(
                a.http()
                    .bare("/api/admin/reload-devices")
                    .POST(HttpRequest.BodyPublishers.noBody()),
                key));
      }
      for (HttpRequest.Builder attempt : attempts) {
        HubHttp.Reply r = a.http().send(attempt);
        assertThat(r.error(401)).as("%s", r).contains("missing or invalid API key");
        assertThat(r.headers().firstValue("www-authenticate")).as("%s", r).contains("Bearer");
        // Nothing of the hub's state leaks into the refusal.
        assertThat(r.body()).as("%s", r).doesNotContain("innocent").doesNotContain(KEY);
      }
      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key"))
          .isEqualTo(attempts.size());
      a.assertInnocentsUntouchedAndSessionCompletes();
      // The right key still works, so the 401s above were about the key alone.
      assertThat(a.http().get("/api/clients").status()).isEqualTo(200);
    }
  }

  @Test
  void theDashboardFeedRefusesAMissingOrWrongKeyWith401AndStreamsNothing() throws Exception {
    List<String[]> badKeys =
        List.of(
            new String[0],
            new String[] {"X-API-Key: " + WRONG},
            new String[] {"X-API-Key: "},
            new String[] {"X-API-Key: " + KEY.substring(1)},
            new String[] {"Authorization: Bearer " + WRONG},
            new String[] {"Authorization: Bearer " + KEY + KEY},
            new String[] {"Authorization: Token " + KEY},
            new String[] {"Api-Key: " + KEY},
            new String[] {"Last-Event-ID: 1", "X-API-Key: " + WRONG});
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      String host = RawSocket.host(a.hub());
      List<RawSocket> refused = new ArrayList<>();
      // The feed takes no key in the URL either (EventSource cannot send headers, but a key in a
      // URL ends up in logs and browser history).
      for (String target : List.of("/api/events", "/api/events?token=" + KEY)) {
        for (String[] key : badKeys) {
          String[] headers = new String[key.length + 2];
          headers[0] = host;
          headers[1] = "Accept: text/event-stream";
          System.arraycopy(key, 0, headers, 2, key.length);
          RawSocket s = a.socket();
          s.write(RawSocket.get(target, headers));
          RawSocket.Reply r = s.readReply();
          String what = target + " " + List.of(key);
          assertThat(r.error(401)).as(what).contains("missing or invalid API key");
          assertThat(r.headers()).as(what).containsEntry("www-authenticate", "Bearer");
          assertThat(r.headers()).as(what).doesNotContainKey("transfer-encoding");
          assertThat(r.body()).as(what).doesNotContain("data:").doesNotContain(KEY);
          assertThat(r.body()).as(what).doesNotContain("innocent");
          refused.add(s); // kept open (keep-alive): a feed behind the 401 would show on it
        }
      }
      // A viewer gets a chart sample every two seconds: wait past one. Nobody became a viewer, and
      // no byte came after the 401 on any of the connections, still open.
      await()
          .during(Duration.ofMillis(2_500))
          .atMost(Duration.ofSeconds(10))
          .until(() -> HubState.feedViewers(a.hub().server()) == 0);
      for (RawSocket s : refused) {
        assertThat(s.input().available()).as("bytes after the 401").isZero();
      }
      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key"))
          .isEqualTo(refused.size());
      a.assertInnocentsUntouched();
      // The right key gets the feed, so the 401s above were about the key alone.
      try (FeedViewer viewer = FeedViewer.open(a)) {
        assertThat(viewer.awaitText("\"type\":\"snapshot\"")).contains(Arena.DEVICE);
        await().until(() -> HubState.feedViewers(a.hub().server()) == 1);
      }
      await().until(() -> HubState.feedViewers(a.hub().server()) == 0);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void theHubKeepsOnlyADigestOfTheKeyAndComparesDigestsOfEqualLength() throws Exception {
    // MessageDigest.isEqual over two SHA-256 digests takes the same time for every candidate,
    // whatever its length or its common prefix with the key: nothing to time from outside.
    ApiKey key = ApiKey.of(KEY);
    for (Field f : ApiKey.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      f.setAccessible(true);
      Object v = f.get(key);
      assertThat(v).as("field %s", f.getName()).isNotInstanceOf(String.class);
      assertThat(v).as("field %s", f.getName()).isNotInstanceOf(char[].class);
      if (v instanceof byte[]) {
        assertThat((byte[]) v).hasSize(32).isNotEqualTo(KEY.getBytes(StandardCharsets.UTF_8));
      }
    }
    assertThat(key.toString()).doesNotContain(KEY);
    assertThat(key.matches(KEY)).isTrue();
    assertThat(key.matches(KEY.substring(0, 8))).isFalse();
    assertThat(key.matches(null)).isFalse();
  }

  private static HttpRequest.Builder withHeaders(HttpRequest.Builder b, String[] nameValue) {
    if (nameValue.length == 2) {
      b.header(nameValue[0], nameValue[1]);
    }
    return b;
  }
}
