package org.aiphub.server.e2e;

import static org.aiphub.server.e2e.AipHarness.QUIET;
import static org.aiphub.server.e2e.AipHarness.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Session ids as the reference {@code SessionManager} binds them: to an owner only while the
 * session runs (or while its outcome is held for that owner, offline). Galaxy builds one device
 * manager per process with a fixed task name, opens one constellation socket per device ({@code
 * <task_name>@<device>}) and names sessions {@code <task_name>@<task id>}, with task ids like
 * {@code t1} that recur across requests: the same session id comes from another socket for another
 * device once the first run finished. Every run is its own history record; neither shows the
 * other's request or result, over AIP or HTTP.
 */
class SessionReuseEndToEndTest {
  private static final String TASK_NAME = "weekly_report";
  private static final String SID = "tn@t1";

  private AipHarness h;
  private HubHttp http;

  @BeforeEach
  void start() {
    h = AipHarness.start();
    http = new HubHttp(h.hub());
  }

  @AfterEach
  void stop() {
    h.close();
  }

  private static String task(String constellation, String device, String request) {
    return AipFrames.task(constellation, device, SID, request).set("task_name", TASK_NAME).text();
  }

  private static void assertAck(ServerMessage m) {
    assertThat(m.type()).as("ack %s", m).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.sessionId()).isEqualTo(SID);
  }

  /** The first run: {@code tn@devA} on devA, completed with {@code {"on":"A"}}. */
  private void firstRunOnA(WsClient devA, WsClient onA) {
    onA.send(task("tn@devA", "devA", "on the first device"));
    assertAck(onA.next());
    assertThat(devA.next().userRequest()).isEqualTo("on the first device");
    devA.send(AipFrames.taskEnd("devA", SID, "completed").json("result", "{\"on\":\"A\"}").text());
    ServerMessage end = onA.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.result()).isEqualTo(Map.of("on", "A"));
  }

  @Test
  void galaxysSameSessionIdFromASecondConstellationOnASecondDeviceCompletes() {
    WsClient devA = h.device("devA");
    WsClient devB = h.device("devB");
    WsClient onA = h.constellation("tn@devA", "devA");
    WsClient onB = h.constellation("tn@devB", "devB");
    firstRunOnA(devA, onA);

    onB.send(task("tn@devB", "devB", "on the second device"));

    assertAck(onB.next());
    ServerMessage toB = devB.next();
    assertThat(toB.type()).isEqualTo(ServerMessageType.TASK);
    assertThat(toB.sessionId()).isEqualTo(SID);
    assertThat(toB.userRequest()).isEqualTo("on the second device");
    devB.send(AipFrames.taskEnd("devB", SID, "completed").json("result", "{\"on\":\"B\"}").text());
    ServerMessage end = onB.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.sessionId()).isEqualTo(SID);
    assertThat(end.result()).isEqualTo(Map.of("on", "B"));
    onA.expectNothing(QUIET);
    devA.expectNothing(QUIET);
    assertThat(h.sessions().counts().running()).isZero();
    assertThat(h.registry().getStats().runningSessions()).isZero();
  }

  @Test
  @SuppressWarnings("unchecked")
  void theHistoryKeepsBothRunsNewestByDefaultAllWithAllTrue() {
    WsClient devA = h.device("devA");
    WsClient devB = h.device("devB");
    WsClient onA = h.constellation("tn@devA", "devA");
    WsClient onB = h.constellation("tn@devB", "devB");
    firstRunOnA(devA, onA);
    onB.send(task("tn@devB", "devB", "on the second device"));
    assertAck(onB.next());
    devB.next();
    devB.send(AipFrames.taskEnd("devB", SID, "failed").set("error", "B broke").text());
    assertThat(onB.next().status()).isEqualTo(TaskStatus.FAILED);

    Map<String, Object> newest = http.get("/api/sessions/" + SID).ok(200);
    assertThat(newest)
        .containsEntry("session_id", SID)
        .containsEntry("owner", "tn@devB")
        .containsEntry("device", "devB")
        .containsEntry("state", "failed")
        .containsEntry("request", "on the second device")
        .containsEntry("error", "B broke")
        .containsEntry("result", null);
    assertThat(http.get("/api/sessions/" + SID + "?all=false").ok(200)).isEqualTo(newest);

    Map<String, Object> all = http.get("/api/sessions/" + SID + "?all=true").ok(200);
    assertThat(all).containsEntry("session_id", SID).containsEntry("count", 2);
    List<Map<String, Object>> runs = (List<Map<String, Object>>) all.get("runs");
    assertThat(runs).extracting(r -> r.get("owner")).containsExactly("tn@devB", "tn@devA");
    assertThat(runs).extracting(r -> r.get("device")).containsExactly("devB", "devA");
    // A list of runs, so summaries as every list shows them: previews, never the bodies.
    assertThat(runs)
        .extracting(r -> r.get("request_preview"))
        .containsExactly("on the second device", "on the first device");
    assertThat(runs)
        .extracting(r -> r.get("result_preview"))
        .containsExactly(null, "{\"on\":\"A\"}");
    assertThat(runs).extracting(r -> r.get("error")).containsExactly("B broke", null);
    assertThat(runs).allSatisfy(r -> assertThat(r).doesNotContainKeys("request", "result"));
    assertThat(runs.get(0)).containsEntry("run", newest.get("run"));
    assertThat(((Number) runs.get(0).get("run")).longValue())
        .isGreaterThan(((Number) runs.get(1).get("run")).longValue());
    // Each run's whole record, one at a time.
    assertThat(http.get("/api/sessions/" + SID + "?run=" + runs.get(0).get("run")).ok(200))
        .isEqualTo(newest);
    assertThat(http.get("/api/sessions/" + SID + "?run=" + runs.get(1).get("run")).ok(200))
        .containsEntry("owner", "tn@devA")
        .containsEntry("request", "on the first device")
        .containsEntry("result", Map.of("on", "A"));
    assertThat(http.get("/api/sessions/" + SID + "?run=1" + runs.get(0).get("run")).error(404))
        .contains("no run");
    assertThat(http.get("/api/sessions/" + SID + "?run=x").error(400)).contains("run");
    assertThat(http.get("/api/sessions/" + SID + "?run=1&all=true").error(400)).contains("run");

    Map<String, Object> one = http.get("/api/sessions/" + SID + "?all=true&limit=1").ok(200);
    assertThat((List<Map<String, Object>>) one.get("runs"))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("run", newest.get("run")));
    assertThat(one).containsEntry("count", 1);
    // both runs in the list of sessions too
    Map<String, Object> listed = http.get("/api/sessions?client=devA").ok(200);
    assertThat(listed).containsEntry("count", 1);

    assertThat(http.get("/api/sessions/" + SID + "?all=yes").error(400)).contains("all");
    assertThat(http.get("/api/sessions/" + SID + "?all=true&limit=0").error(400)).contains("limit");
    assertThat(http.get("/api/sessions/nothing-here?all=true").error(404)).contains("no session");
  }

  @Test
  void aReusedIdShowsNothingOfThePreviousRunWhileItRuns() {
    WsClient devA = h.device("devA");
    WsClient devB = h.device("devB");
    WsClient onA = h.constellation("tn@devA", "devA");
    WsClient onB = h.constellation("tn@devB", "devB");
    firstRunOnA(devA, onA);
    assertThat(http.get("/api/sessions/" + SID).ok(200))
        .containsEntry("state", "completed")
        .containsEntry("result", Map.of("on", "A"));
    // Client sessions are not in /api/task_result's namespace, whatever their task name.
    assertThat(http.get("/api/task_result/" + TASK_NAME).ok(200))
        .containsEntry("status", "pending")
        .doesNotContainKey("result");

    onB.send(task("tn@devB", "devB", "on the second device"));
    assertAck(onB.next());
    devB.next();

    // The newest run has no result yet: nobody is shown the first run's as if it were this one's.
    assertThat(http.get("/api/sessions/" + SID).ok(200))
        .containsEntry("state", "running")
        .containsEntry("result", null)
        .containsEntry("owner", "tn@devB");

    devB.send(AipFrames.taskEnd("devB", SID, "completed").json("result", "{\"on\":\"B\"}").text());
    assertThat(onB.next().result()).isEqualTo(Map.of("on", "B"));
    assertThat(http.get("/api/sessions/" + SID).ok(200))
        .containsEntry("state", "completed")
        .containsEntry("result", Map.of("on", "B"));
  }

  @Test
  void anOutcomeHeldForItsOfflineOwnerKeepsTheIdFromOthersUntilItIsDelivered() {
    WsClient devA = h.device("devA");
    WsClient onA = h.constellation("tn@devA", "devA");
    WsClient onB = h.constellation("tn@devB", null);
    onA.send(task("tn@devA", "devA", "on the first device"));
    assertAck(onA.next());
    devA.next();
    onA.close();
    await().until(() -> h.sessions().counts().held() == 1);
    ServerMessage stop = devA.next();
    assertThat(stop.error()).isEqualTo("constellation_disconnected");

    // Held for tn@devA: another constellation may not take the id yet.
    onB.send(task("tn@devB", "devA", "mine"));
    ServerMessage refused = assertError(onB.next(), "already used by another client");
    assertThat(refused.sessionId()).isEqualTo(SID);
    assertThat(refused.error()).doesNotContain("tn@devA");
    devA.expectNothing(QUIET);
    assertThat(h.sessions().counts().held()).isEqualTo(1);
    // the refused task ends at once for its sender (RefusedTaskEndToEndTest)
    ServerMessage ended = onB.next();
    assertThat(ended.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(ended.sessionId()).isEqualTo(SID);
    assertThat(ended.error()).isEqualTo(refused.error());

    // The owner comes back and is handed its outcome: now the id is free for anyone.
    WsClient back = h.constellation("tn@devA", "devA");
    ServerMessage held = back.next();
    assertThat(held.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(held.sessionId()).isEqualTo(SID);
    assertThat(held.error()).isEqualTo("constellation_disconnected");
    await().until(() -> h.sessions().counts().held() == 0);

    onB.send(task("tn@devB", "devA", "mine"));
    assertAck(onB.next());
    assertThat(devA.next().userRequest()).isEqualTo("mine");
    devA.send(AipFrames.taskEnd("devA", SID, "completed").text());
    ServerMessage end = onB.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.error()).isNull();
    back.expectNothing(QUIET);
  }
}
