package org.aiphub.server.logging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.HubHttp.Reply;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 4, "Run and stop": one log line per connect, register, disconnect and finished session;
 * client-controlled strings reach the log escaped; the API key is never logged nor answered. Logs
 * are captured with a logback {@code ListAppender} from a real hub.
 */
class HubLogTest {
  private static final String CLIENTS = "org.aiphub.clients";
  private static final String SESSIONS = "org.aiphub.sessions";
  private static final Duration WAIT = Duration.ofSeconds(10);

  /** Newline, carriage return, NUL, bell, escape (a terminal colour), DEL, NEL, U+2028. */
  private static final String EVIL =
      "a\nFAKE INFO line\r\u0000\u0007\u001b[31mred\u007f\u0085\u2028z";

  private LogCapture capture;
  private TestHub hub;

  @BeforeEach
  void attach() {
    capture = LogCapture.attach(Level.INFO, CLIENTS, SESSIONS);
  }

  @AfterEach
  void detach() {
    if (hub != null) {
      hub.close();
    }
    capture.close();
  }

  private List<String> clientLines(String containing) {
    return capture.messages(CLIENTS).stream().filter(m -> m.contains(containing)).toList();
  }

  private List<String> connectLines() {
    return capture.messages(CLIENTS).stream().filter(m -> m.startsWith("connect from ")).toList();
  }

  @Test
  void oneLinePerConnectRegisterDisconnectAndFinishedSession() {
    hub = TestHub.start();
    WsClient device = hub.connect();
    WsClient constellation = hub.connect();
    WsClient silent = hub.connect();
    device.send(JsonFrames.registerDevice("dev-log-1", "linux", List.of("gui")));
    device.next();
    constellation.send(JsonFrames.registerConstellation("con-log-1"));
    constellation.next();
    constellation.send(JsonFrames.task("con-log-1", "dev-log-1", "s-log-1", "t1", "r"));
    constellation.next();
    device.next();
    device.send(JsonFrames.taskEnd("dev-log-1", "s-log-1", "completed", "fine", null));
    assertThat(constellation.next().type()).isEqualTo(ServerMessageType.TASK_END);

    await().atMost(WAIT).untilAsserted(() -> assertThat(connectLines()).hasSize(3));
    assertThat(clientLines("register device dev-log-1")).hasSize(1);
    assertThat(clientLines("register constellation con-log-1")).hasSize(1);
    assertThat(clientLines("register")).hasSize(2);
    List<String> sessionLines = capture.messages(SESSIONS);
    assertThat(sessionLines).hasSize(1);
    assertThat(sessionLines.get(0))
        .contains("s-log-1")
        .contains("completed")
        .contains("t1")
        .contains("con-log-1")
        .contains("dev-log-1");
    assertThat(clientLines("disconnect")).isEmpty();

    device.close();
    constellation.close();
    silent.close();
    await().atMost(WAIT).untilAsserted(() -> assertThat(clientLines("disconnect")).hasSize(3));
    assertThat(clientLines("disconnect device dev-log-1")).hasSize(1);
    assertThat(clientLines("disconnect constellation con-log-1")).hasSize(1);
    assertThat(clientLines("never registered")).hasSize(1);
    // Exactly those lines, nothing twice.
    assertThat(capture.messages(CLIENTS)).hasSize(3 + 2 + 3);
    assertThat(capture.messages(SESSIONS)).hasSize(1);
  }

  @Test
  void clientControlledTextIsEscapedInTheLog() {
    try (LogCapture all = LogCapture.attach(Level.INFO, org.slf4j.Logger.ROOT_LOGGER_NAME)) {
      runHostileClients();
      assertThat(all.events()).hasSizeGreaterThanOrEqualTo(capture.events().size());
      for (ILoggingEvent e : all.events()) {
        String text = LogCapture.fullText(e);
        assertThat(text.chars().filter(HubLogTest::isControlOrLineBreak).boxed().toList())
            .as("control characters in %s", text)
            .isEmpty();
      }
    }
  }

  private void runHostileClients() {
    hub = TestHub.start();
    try (WsClient device = hub.connect();
        WsClient constellation = hub.connect()) {
      device.send(JsonFrames.registerDevice("dev-esc", "linux", List.of("gui")));
      device.next();
      constellation.send(JsonFrames.registerConstellation("con-esc"));
      constellation.next();

      // A task name and an error text full of control characters, from both sides.
      constellation.send(JsonFrames.task("con-esc", "dev-esc", "s-esc-1", "name" + EVIL, "r"));
      constellation.next();
      ServerMessage task = device.next();
      assertThat(task.taskName()).isEqualTo("name" + EVIL);
      device.send(JsonFrames.taskEnd("dev-esc", "s-esc-1", "failed", null, "error" + EVIL));
      assertThat(constellation.next().error()).isEqualTo("error" + EVIL);

      List<String> lines =
          await().atMost(WAIT).until(() -> capture.messages(SESSIONS), l -> !l.isEmpty());
      assertThat(lines).hasSize(1);
      String line = lines.get(0);
      assertThat(line).contains("name").contains("error").contains("FAKE INFO line");
      assertThat(line).contains("\\u000a").contains("\\u000d").contains("\\u001b");
    }
    // A registration refused for a hostile id.
    try (WsClient hostile = hub.connect()) {
      hostile.send(JsonFrames.registerDevice("bad" + EVIL, "linux" + EVIL, List.of()));
      assertThat(hostile.next().type()).isEqualTo(ServerMessageType.ERROR);
    }
    await()
        .atMost(WAIT)
        .untilAsserted(() -> assertThat(clientLines("registration refused")).hasSize(1));
    await().atMost(WAIT).untilAsserted(() -> assertThat(clientLines("disconnect")).hasSize(3));
    hub.close();
    hub = null;
  }

  /** Sends raw request bytes and reads the answer until the hub closes the connection. */
  private String rawExchange(String request) {
    try (Socket s = new Socket("127.0.0.1", hub.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static boolean isControlOrLineBreak(int c) {
    return Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
  }

  @Test
  void theApiKeyIsNeverLoggedNorAnswered() {
    capture.close();
    // Everything every logger writes, debug included.
    capture = LogCapture.attach(Level.DEBUG, org.slf4j.Logger.ROOT_LOGGER_NAME);
    hub = TestHub.start();
    HubHttp http = new HubHttp(hub);
    try (WsClient device = hub.connect();
        WsClient constellation = hub.connect()) {
      device.send(JsonFrames.registerDevice("dev-key", "linux", List.of("gui")));
      device.next();
      constellation.send(JsonFrames.registerConstellation("con-key"));
      constellation.next();
      constellation.send(JsonFrames.task("con-key", "dev-key", "s-key", "t", "r"));
      constellation.next();
      device.next();
      device.send(JsonFrames.taskEnd("dev-key", "s-key", "completed", null, null));
      constellation.next();

      String sid =
          (String)
              http.post("/api/dispatch", Map.of("client_id", "dev-key", "request", "x"))
                  .ok(200)
                  .get("session_id");
      for (String path :
          List.of(
              "/api/health",
              "/api/clients",
              "/api/task_result/t",
              "/api/devices",
              "/api/devices/dev-key",
              "/api/devices/select",
              "/api/devices/select?platform=none",
              "/api/stats",
              "/api/sessions",
              "/api/sessions/" + sid,
              "/api/sessions/s-key",
              "/api/nothing-here",
              "/metrics")) {
        http.get(path);
        // wrong keys that contain the right one must not be echoed either
        http.send(http.bare(path).header("X-API-Key", TestHub.KEY + "-wrong"));
        http.send(http.bare(path).header("Authorization", "Bearer " + TestHub.KEY + "-wrong"));
        http.send(http.bare(path));
      }
      http.post("/api/admin/reload-devices", "");
      http.send(http.keyed("/api/health").POST(HttpRequest.BodyPublishers.ofString("{}")));
      http.send(http.bare("/ws?token=" + TestHub.KEY + "-wrong"));
      http.send(http.bare("/ws?token=" + TestHub.KEY));
    }
    // A connection with a wrong key in its URL, refused before the upgrade.
    assertThat(
            WsClient.open(
                    java.net.URI.create(
                        "ws://127.0.0.1:" + hub.port() + "/ws?token=" + TestHub.KEY + "-wrong"))
                .handle((c, e) -> e != null)
                .join())
        .isTrue();
    // An upgrade with the right key that the WebSocket handshake then refuses (no key header).
    rawExchange(
        "GET /ws?token="
            + TestHub.KEY
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n");
    hub.close();
    hub = null;

    assertThat(capture.events()).as("the hub logged something").isNotEmpty();
    for (ILoggingEvent e : capture.events()) {
      assertThat(LogCapture.fullText(e))
          .as("log of %s", e.getLoggerName())
          .doesNotContain(TestHub.KEY);
    }
    assertThat(http.seen()).hasSizeGreaterThan(40);
    for (Reply r : http.seen()) {
      assertThat(r.body()).as("%s", r).doesNotContain(TestHub.KEY);
      r.headers()
          .map()
          .forEach(
              (k, v) ->
                  assertThat(v.toString()).as("header %s of %s", k, r).doesNotContain(TestHub.KEY));
    }
  }
}
