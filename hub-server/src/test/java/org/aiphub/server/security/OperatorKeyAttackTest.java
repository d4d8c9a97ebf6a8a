package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.ADMIN_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack: the HTTP API gives every device operator power. Every device holds the client key ({@code
 * api_key}); with it, a constellation scoped to its own device (and refused device info about any
 * other over WebSocket) read the other device's {@code system_info} over {@code GET
 * /api/devices/{id}}, dispatched tasks to any device, read every session's request and result, and
 * reloaded the device config. With an operator key ({@code admin_key}) set, the client key gets a
 * 401 on all of {@code /api/*} (the dashboard feed included), {@code /metrics} and the admin route,
 * counted as {@code bad_key}, with the same answer as a wrong key; the operator key works there and
 * opens no WebSocket. Without one the hub behaves as before and says so once at start-up. Neither
 * key is ever logged or answered.
 */
class OperatorKeyAttackTest {
  private static final String CLIENT = TestHub.KEY;
  private static final String OPERATOR = TestHub.ADMIN_KEY;

  private static Arena withOperatorKey() {
    return Arena.start(b -> b.set(ADMIN_KEY, OPERATOR));
  }

  /** Every keyed HTTP route, as requests without a key yet. */
  private static List<HttpRequest.Builder> everyKeyedRoute(Arena a) {
    List<HttpRequest.Builder> out = new ArrayList<>();
    for (String path :
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
            "/api/no-such-route",
            "/api/events",
            "/metrics")) {
      out.add(a.http().bare(path).GET());
    }
    out.add(
        a.http()
            .bare("/api/dispatch")
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    HubHttp.write(Map.of("client_id", Arena.DEVICE, "request", "wipe the disk")))));
    out.add(a.http().bare("/api/admin/reload-devices").POST(HttpRequest.BodyPublishers.noBody()));
    return out;
  }

  @Test
  void theClientKeyGets401OnEveryOperatorRouteWhenAnOperatorKeyIsSet() {
    try (LogCapture logs = LogCapture.attach(Level.DEBUG, "ROOT");
        Arena a = withOperatorKey()) {
      // The issue's attacker: a constellation scoped to its own device, refused info about the
      // innocent device over WebSocket, then trying the HTTP API with the same key.
      WsClient own = a.device("attacker-dev");
      Map<String, Object> register =
          Frames.of("register", "ok", "constellation", "attacker-galaxy");
      register.put("target_id", "attacker-dev");
      WsClient scoped = a.registered(Frames.json(register));
      scoped.send(Frames.infoRequest("constellation", "attacker-galaxy", Arena.DEVICE, "peek"));
      ServerMessage refused = scoped.next();
      assertThat(refused.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(refused.result()).isNull();
      Arena.Bookkeeping before = a.bookkeeping();

      List<HttpRequest.Builder> attempts = new ArrayList<>();
      for (HttpRequest.Builder r : everyKeyedRoute(a)) {
        attempts.add(r.copy().header("X-API-Key", CLIENT));
        attempts.add(r.copy().header("Authorization", "Bearer " + CLIENT));
        // Two places, two keys: the operator key beside the client key grants nothing either.
        attempts.add(
            r.copy().header("X-API-Key", OPERATOR).header("Authorization", "Bearer " + CLIENT));
      }
      String wrongKeyAnswer = a.http().send(a.http().bare("/api/clients")).body();
      for (HttpRequest.Builder attempt : attempts) {
        HubHttp.Reply r = a.http().send(attempt);
        assertThat(r.error(401)).as("%s", r).contains("operator key (admin_key)");
        assertThat(r.body()).as("the same answer as no key: %s", r).isEqualTo(wrongKeyAnswer);
        assertThat(r.headers().firstValue("www-authenticate")).as("%s", r).contains("Bearer");
        assertThat(r.body()).doesNotContain("innocent", "attacker-dev", CLIENT, OPERATOR);
      }
      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(HubState.feedViewers(a.hub().server())).isZero();
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key"))
          .isEqualTo(attempts.size() + 1);
      // The scoped constellation still gets nothing it was not allowed before, over WebSocket.
      scoped.send(Frames.infoRequest("constellation", "attacker-galaxy", Arena.DEVICE, "again"));
      assertThat(scoped.next().status()).isEqualTo(TaskStatus.ERROR);
      assertThat(own.isClosed()).isFalse();
      a.assertInnocentsUntouched();

      // The operator key opens every route, the feed among them.
      assertThat(a.http().get("/api/devices/" + Arena.DEVICE).ok(200))
          .containsEntry("device_id", Arena.DEVICE);
      assertThat(a.http().get("/metrics").status()).isEqualTo(200);
      try (FeedViewer viewer = FeedViewer.open(a)) {
        assertThat(viewer.awaitText("\"type\":\"snapshot\"")).contains(Arena.DEVICE);
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
      assertNeitherKeyIn(logs.events());
    }
  }

  @Test
  void theOperatorKeyOpensNoWebSocket() {
    List<String[]> upgrades =
        List.of(
            new String[] {"/ws?token=" + OPERATOR},
            new String[] {"/ws", "Authorization: Bearer " + OPERATOR},
            new String[] {"/ws?token=" + CLIENT, "Authorization: Bearer " + OPERATOR},
            new String[] {"/ws?token=" + OPERATOR, "Authorization: Bearer " + CLIENT});
    try (Arena a = withOperatorKey()) {
      Arena.Bookkeeping before = a.bookkeeping();
      for (String[] attempt : upgrades) {
        String[] headers = new String[attempt.length];
        headers[0] = RawSocket.host(a.hub());
        System.arraycopy(attempt, 1, headers, 1, attempt.length - 1);
        RawSocket s = a.socket();
        s.write(RawSocket.upgrade(attempt[0], headers));
        RawSocket.Reply r = s.readReply();
        String what = String.join(" + ", attempt);
        assertThat(r.error(401)).as(what).contains("the operator key does not open WebSocket");
        assertThat(r.headers()).as(what).doesNotContainKeys("upgrade", "sec-websocket-accept");
        assertThat(r.body()).as(what).doesNotContain(OPERATOR).doesNotContain(CLIENT);
        s.tryWrite(RawSocket.text(ClientFrames.registerDevice("operator-posing")));
        assertThat(s.closedByHub()).as(what).isTrue();
      }
      assertThat(a.registry().isOnline("operator-posing")).isFalse();
      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key"))
          .isEqualTo(upgrades.size());
      // The client key still connects and registers (the innocents did); so does a newcomer.
      a.device("late-dev");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  /**
   * Without an operator key, nothing changes for scripts written against the reference server: the
   * client key opens the API, the feed and {@code /metrics}, and dispatches. The hub says so once,
   * at start-up, with how to set one, and without the key.
   */
  @Test
  void withoutAnOperatorKeyTheClientKeyOpensEverythingAndTheHubWarnsOnce() {
    String warnLogger = AccessKeys.class.getName();
    try (LogCapture logs = LogCapture.attach(Level.WARN, warnLogger);
        Arena a = Arena.start()) {
      List<String> warnings = logs.messages(warnLogger);
      assertThat(warnings).filteredOn(m -> m.contains("admin_key")).hasSize(1);
      assertThat(warnings.stream().filter(m -> m.contains("admin_key")).findFirst().orElseThrow())
          .contains("client key (api_key)", "HUB_ADMIN_KEY", "--admin-key")
          .doesNotContain(CLIENT);

      assertThat(a.hub().operatorKey()).isEqualTo(CLIENT);
      for (HttpRequest.Builder r : everyKeyedRoute(a)) {
        String path = r.copy().build().uri().getPath();
        if (path.equals("/api/events") || path.startsWith("/api/dispatch")) {
          continue; // below: a stream, and a dispatch to a device of the test's own
        }
        HubHttp.Reply reply = a.http().send(r.header("X-API-Key", CLIENT));
        assertThat(reply.status()).as("%s", reply).isIn(200, 400, 404);
      }
      WsClient dev = a.device("script-dev");
      String sid =
          (String)
              a.http()
                  .post("/api/dispatch", Map.of("client_id", "script-dev", "request", "hello"))
                  .ok(200)
                  .get("session_id");
      assertThat(dev.next().sessionId()).isEqualTo(sid);
      try (FeedViewer viewer = FeedViewer.open(a)) {
        assertThat(viewer.awaitText("\"type\":\"snapshot\"")).contains("script-dev");
      }
      assertThat(logs.messages(warnLogger)).filteredOn(m -> m.contains("admin_key")).hasSize(1);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
    try (LogCapture logs = LogCapture.attach(Level.WARN, warnLogger);
        Arena a = withOperatorKey()) {
      assertThat(logs.messages(warnLogger)).noneMatch(m -> m.contains("admin_key"));
      assertThat(a.hub().operatorKey()).isEqualTo(OPERATOR);
    }
  }

  private static void assertNeitherKeyIn(List<ILoggingEvent> events) {
    for (ILoggingEvent e : events) {
      String text = LogCapture.fullText(e);
      assertThat(text).as("log line").doesNotContain(CLIENT).doesNotContain(OPERATOR);
    }
  }
}
