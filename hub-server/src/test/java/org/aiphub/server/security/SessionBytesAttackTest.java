package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.SESSION_BYTES;
import static org.aiphub.server.config.Settings.SESSION_BYTES_PER_OWNER;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.Truncation;
import org.aiphub.server.e2e.HubProcess;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 3: the session history kept every request and result whole (a 1 MiB request and
 * a 1.1 MB object result cost over 9 MiB of heap), so a client with big sessions emptied a 256 MiB
 * heap in a few dozen of them, and the OutOfMemoryError closed an innocent device (1011); sessions
 * dispatched over HTTP, without an owner, were not bounded either. Now what the hub keeps is
 * bounded in bytes of estimated heap, per owner and in total, long requests and results are kept as
 * {@code {"truncated": true, "bytes": N, "preview": "..."}}, and a new session that still does not
 * fit is refused, naming its limit. An online owner still gets its result whole.
 */
class SessionBytesAttackTest {
  private static final String MALLORY = "mallory-galaxy";
  private static final String MALLORY_DEV = "mallory-dev";
  private static final String KEY = "bytes-attack-key-0123";
  private static final int REQUEST_CHARS = 1 << 20;

  /** A JSON object of about 1.1 MB: 40,000 short fields, the costliest shape to keep frozen. */
  private static Map<String, Object> bigObject() {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < 40_000; i++) {
      m.put(String.format("field_%05d", i), "value of field " + i);
    }
    return m;
  }

  /**
   * Mallory's constellation and device run one session with a 1 MiB request and a 1.1 MB result;
   * mallory, online, gets the result whole.
   */
  private static void bigSession(
      WsClient mallory, WsClient device, String sid, String request, String taskEnd, int fields) {
    mallory.send(JsonFrames.task(MALLORY, MALLORY_DEV, sid, "big", request));
    ServerMessage ack = mallory.next();
    assertThat(ack.type()).as("ack %s", ack.error()).isEqualTo(ServerMessageType.HEARTBEAT);
    ServerMessage task = device.next();
    assertThat(task.userRequest()).as("the device gets the request whole").hasSize(REQUEST_CHARS);
    device.send(taskEnd.replace("SESSION-ID", sid));
    ServerMessage end = mallory.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat((Map<?, ?>) end.result()).as("the online owner gets it whole").hasSize(fields);
  }

  @Test
  void bigSessionsAreKeptTruncatedWithinTheirOwnersAndTheHubsBytes() {
    long perOwner = 2L << 20;
    long hub = 4L << 20;
    try (Arena a =
        Arena.start(b -> b.set(SESSION_BYTES_PER_OWNER, perOwner).set(SESSION_BYTES, hub))) {
      WsClient device = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      Map<String, Object> result = bigObject();
      String taskEnd = JsonFrames.taskEnd(MALLORY_DEV, "SESSION-ID", "completed", result, null);
      String request = "r".repeat(REQUEST_CHARS);

      for (int i = 0; i < 12; i++) {
        bigSession(mallory, device, "big-" + i, request, taskEnd, result.size());
        assertThat(a.sessions().keptBytes()).as("after session %d", i).isLessThanOrEqualTo(hub);
        assertThat(a.sessions().keptBytes(MALLORY)).isLessThanOrEqualTo(perOwner);
      }

      // What the history kept of the last one: markers, with the sizes of what was cut.
      Map<String, Object> record = a.http().get("/api/sessions/big-11").ok(200);
      assertThat(record).containsEntry("state", "completed");
      Map<?, ?> keptRequest = (Map<?, ?>) record.get("request");
      assertThat(keptRequest.get("truncated")).isEqualTo(true);
      assertThat(((Number) keptRequest.get("bytes")).longValue()).isEqualTo(REQUEST_CHARS);
      assertThat((String) keptRequest.get("preview"))
          .isEqualTo("r".repeat(Truncation.PREVIEW_CHARS));
      Map<?, ?> keptResult = (Map<?, ?>) record.get("result");
      assertThat(keptResult.get("truncated")).isEqualTo(true);
      assertThat(((Number) keptResult.get("bytes")).longValue()).isGreaterThan(1_000_000);
      assertThat((String) keptResult.get("preview"))
          .startsWith("{\"field_00000\":\"value of field 0\"")
          .hasSize(Truncation.PREVIEW_CHARS);
      assertThat(a.scraped("hub_session_bytes")).isLessThanOrEqualTo((double) hub);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void runningSessionsPastTheirOwnersBytesAreRefusedNamingTheLimitOverAipAndHttp() {
    try (Arena a = Arena.start(b -> b.set(SESSION_BYTES_PER_OWNER, 64L * 1024))) {
      a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      String big = "q".repeat(100_000);
      int accepted = 0;
      ServerMessage refusal = null;
      for (int i = 0; i < 200 && refusal == null; i++) {
        mallory.send(JsonFrames.task(MALLORY, MALLORY_DEV, "run-" + i, "t", big));
        ServerMessage m = mallory.next();
        if (m.type() == ServerMessageType.HEARTBEAT) {
          accepted++;
        } else {
          refusal = Arena.assertError(m, "session_bytes_per_owner");
          Arena.assertRefusalEnd(mallory.next(), "run-" + i, m.error());
        }
      }
      assertThat(refusal).as("a refusal within 200 running sessions").isNotNull();
      assertThat(accepted).isBetween(10, 100);
      assertThat(a.sessions().keptBytes(MALLORY)).isLessThanOrEqualTo(64L * 1024);

      // The sessions dispatched over HTTP have one account of their own, bounded the same way.
      int dispatched = 0;
      HubHttp.Reply refused = null;
      for (int i = 0; i < 200 && refused == null; i++) {
        HubHttp.Reply r =
            a.http().post("/api/dispatch", Map.of("client_id", MALLORY_DEV, "request", big));
        if (r.status() == 200) {
          dispatched++;
        } else {
          refused = r;
        }
      }
      assertThat(refused).as("an HTTP refusal within 200 dispatches").isNotNull();
      assertThat(refused.error(429)).contains("dispatched over HTTP", "session_bytes_per_owner");
      assertThat(dispatched).isBetween(10, 100);
      assertThat(a.sessions().keptBytes(null)).isLessThanOrEqualTo(64L * 1024);
      assertThat(a.scraped("hub_limits_exceeded_total", "limit", "session_bytes_per_owner"))
          .isEqualTo(2);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  /**
   * The finding as reported, in a hub process of its own at {@code -Xmx256m} with its defaults:
   * forty sessions of a 1 MiB request and a 1.1 MB object result, while an innocent device and
   * constellation have a session running. Before, the heap ran out and the innocents were closed.
   */
  @Test
  void bigSessionsCannotEmptyASmallHeap(@TempDir Path dir) throws Exception {
    try (HubProcess hub = HubProcess.start(dir, Map.of(), "--port", "0", "--api-key", KEY)) {
      int port = hub.awaitListening();
      URI ws = URI.create("ws://127.0.0.1:" + port + "/ws?token=" + KEY);
      try (WsClient innocentDev = WsClient.connect(ws);
          WsClient innocent = WsClient.connect(ws);
          WsClient device = WsClient.connect(ws);
          WsClient mallory = WsClient.connect(ws)) {
        register(innocentDev, JsonFrames.registerDevice("innocent-dev", "linux", List.of("gui")));
        register(innocent, JsonFrames.registerConstellation("innocent-galaxy"));
        register(device, JsonFrames.registerDevice(MALLORY_DEV, "linux", List.of("gui")));
        register(mallory, JsonFrames.registerConstellation(MALLORY));
        innocent.send(JsonFrames.task("innocent-galaxy", "innocent-dev", "inn", "t", "innocent"));
        assertThat(innocent.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
        assertThat(innocentDev.next().sessionId()).isEqualTo("inn");

        Map<String, Object> result = bigObject();
        String taskEnd = JsonFrames.taskEnd(MALLORY_DEV, "SESSION-ID", "completed", result, null);
        String request = "r".repeat(REQUEST_CHARS);
        for (int i = 0; i < 40; i++) {
          bigSession(mallory, device, "big-" + i, request, taskEnd, result.size());
        }

        assertThat(hub.process().isAlive()).isTrue();
        assertThat(innocentDev.isClosed()).isFalse();
        assertThat(innocent.isClosed()).isFalse();
        innocentDev.send(JsonFrames.taskEnd("innocent-dev", "inn", "completed", "fine", null));
        ServerMessage end = innocent.next();
        assertThat(end.sessionId()).isEqualTo("inn");
        assertThat(end.result()).isEqualTo("fine");
        HttpResponse<String> stats =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/stats"))
                        .header("X-API-Key", KEY)
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(stats.statusCode()).isEqualTo(200);
        assertThat(hub.log()).doesNotContain("OutOfMemoryError");
      }
    }
  }

  private static void register(WsClient c, String frame) {
    c.send(frame);
    Clients.assertRegistered(c.next());
  }
}
