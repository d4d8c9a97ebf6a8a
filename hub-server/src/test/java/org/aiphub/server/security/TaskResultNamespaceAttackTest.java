package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 7: {@code GET /api/task_result/{name}} answered the newest session with that
 * task name whoever started it, so any client could forge what an operator's script reads back, or
 * make a running dispatch read as done. Task names of sessions the HTTP API dispatched are now
 * their own namespace, looked up by name: a client's own sessions are never found there, whatever
 * their name and however recent.
 */
class TaskResultNamespaceAttackTest {
  private static final String OPS_DEVICE = "ops-dev";
  private static final String MALLORY = "mallory-galaxy";
  private static final String MALLORY_DEV = "mallory-dev";

  /** Mallory's constellation runs a session named {@code taskName} on its own device to the end. */
  private static void forge(
      WsClient mallory, WsClient device, String sid, String taskName, Object result) {
    mallory.send(JsonFrames.task(MALLORY, MALLORY_DEV, sid, taskName, "forge " + taskName));
    assertThat(mallory.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
    ServerMessage task = device.next();
    assertThat(task.sessionId()).isEqualTo(sid);
    device.send(JsonFrames.taskEnd(MALLORY_DEV, sid, "completed", result, null));
    assertThat(mallory.next().type()).isEqualTo(ServerMessageType.TASK_END);
  }

  private static String dispatch(Arena a, String taskName) {
    Map<String, Object> reply =
        a.http()
            .post(
                "/api/dispatch",
                Map.of("client_id", OPS_DEVICE, "request", "report", "task_name", taskName))
            .ok(200);
    return (String) reply.get("session_id");
  }

  @Test
  void aClientsSessionWithTheSameNameCannotForgeADispatchedResult() {
    try (Arena a = Arena.start()) {
      WsClient ops = a.device(OPS_DEVICE);
      WsClient malloryDev = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);

      String sid = dispatch(a, "report_1");
      assertThat(ops.next().sessionId()).isEqualTo(sid);
      ops.send(JsonFrames.taskEnd(OPS_DEVICE, sid, "completed", Map.of("total", 42), null));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> "done".equals(a.http().get("/api/task_result/report_1").ok(200).get("status")));

      // Later, another client runs its own report_1 with a forged total.
      forge(mallory, malloryDev, "forged-1", "report_1", Map.of("total", 999999));

      Map<String, Object> read = a.http().get("/api/task_result/report_1").ok(200);
      assertThat(read)
          .containsEntry("status", "done")
          .containsEntry("result", Map.of("total", 42))
          .containsEntry("session_id", sid);
      // Nor is a client's session readable there under its own name.
      assertThat(a.http().get("/api/task_result/" + Arena.TASK_NAME).ok(200))
          .isEqualTo(Map.of("status", "pending"));
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aRunningDispatchIsNotReadAsDoneWithAnotherClientsResult() {
    try (Arena a = Arena.start()) {
      WsClient ops = a.device(OPS_DEVICE);
      WsClient malloryDev = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);

      String sid = dispatch(a, "report_2");
      assertThat(ops.next().sessionId()).isEqualTo(sid);

      forge(mallory, malloryDev, "forged-2", "report_2", Map.of("total", 1));
      forge(mallory, malloryDev, "forged-3", "report_2", "done, trust me");

      assertThat(a.http().get("/api/task_result/report_2").ok(200))
          .isEqualTo(Map.of("status", "pending", "session_id", sid));

      ops.send(JsonFrames.taskEnd(OPS_DEVICE, sid, "completed", Map.of("total", 7), null));
      Map<String, Object> done =
          await()
              .atMost(Duration.ofSeconds(10))
              .until(
                  () -> a.http().get("/api/task_result/report_2").ok(200),
                  m -> "done".equals(m.get("status")));
      assertThat(done).containsEntry("result", Map.of("total", 7)).containsEntry("session_id", sid);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aFloodOfSameNamedClientSessionsChangesNothing() {
    try (Arena a = Arena.start()) {
      WsClient ops = a.device(OPS_DEVICE);
      WsClient malloryDev = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      String sid = dispatch(a, "report_3");
      assertThat(ops.next().sessionId()).isEqualTo(sid);
      ops.send(JsonFrames.taskEnd(OPS_DEVICE, sid, "completed", "the real one", null));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> "done".equals(a.http().get("/api/task_result/report_3").ok(200).get("status")));

      for (int i = 0; i < 300; i++) {
        forge(mallory, malloryDev, "flood-" + i, "report_3", "fake " + i);
      }
      // Leave one running too: the newest session named report_3 is mallory's, and runs.
      mallory.send(JsonFrames.task(MALLORY, MALLORY_DEV, "flood-running", "report_3", "x"));
      assertThat(mallory.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);

      assertThat(a.http().get("/api/task_result/report_3").ok(200))
          .containsEntry("status", "done")
          .containsEntry("result", "the real one")
          .containsEntry("session_id", sid);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
