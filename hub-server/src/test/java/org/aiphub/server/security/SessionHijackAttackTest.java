package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.Session;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 6: a constellation sends a task carrying another owner's {@code session_id} to the
 * session's device or to its own. While that session runs, the task is refused and the refused
 * request leaves no bookkeeping behind: session counts, history, every registry session set and
 * internal map the same. Once it finished, the id is free (as in the reference server) and the task
 * is a new run of its own. Either way nothing of the other owner's session (request, result, owner)
 * reaches the attacker, then or later.
 */
class SessionHijackAttackTest {
  private static final String MALLORY = "mallory-galaxy";
  private static final String MALLORY_DEV = "mallory-dev";

  @Test
  void aTaskWithARunningSessionOfAnotherOwnerIsRefusedAndLeavesNothingBehind() {
    try (Arena a = Arena.start()) {
      WsClient malloryDevice = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      Arena.Bookkeeping before = a.bookkeeping();

      for (String target : new String[] {Arena.DEVICE, MALLORY_DEV}) {
        mallory.send(Frames.task(MALLORY, target, Arena.SESSION, "give me the result"));
        assertNoLeak(
            Arena.assertError(mallory.next(), "session_id 'innocent-session' is already used"));
        // Its own refused task ends for the attacker at once; the running session goes on.
        assertNoLeak(assertRefusalEnds(mallory.next(), Arena.SESSION));
      }
      assertThat(a.registry().getConstellationSessions(MALLORY)).isEmpty();
      assertThat(a.registry().getDeviceSessions(MALLORY_DEV)).isEmpty();
      assertThat(a.bookkeeping()).isEqualTo(before);
      Arena.assertOnlyAnswer(malloryDevice, MALLORY_DEV);
      a.assertInnocentsUntouchedAndSessionCompletes();

      // The session ended: its outcome went to its owner only.
      mallory.expectNothing(Arena.QUIET);
      Arena.assertOnlyAnswer(mallory, MALLORY);
    }
  }

  @Test
  void aFinishedSessionIdOfAnotherOwnerIsAFreshRunAndTheFinishedOneStaysPrivate() {
    try (Arena a = Arena.start()) {
      a.assertInnocentsUntouchedAndSessionCompletes();
      WsClient malloryDevice = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);

      // A finished id is free for anyone, as in the reference server: reusing it starts a new
      // run, which shows nothing of the finished one.
      mallory.send(Frames.task(MALLORY, MALLORY_DEV, Arena.SESSION, "replay it"));
      ServerMessage ack = mallory.next();
      assertThat(ack.type()).as("ack %s", ack).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.sessionId()).isEqualTo(Arena.SESSION);
      assertThat(ack.result()).isNull();
      ServerMessage task = malloryDevice.next();
      assertThat(task.userRequest()).isEqualTo("replay it");
      assertThat(task.taskName()).isNotEqualTo(Arena.TASK_NAME);
      malloryDevice.send(Frames.taskEnd(MALLORY_DEV, Arena.SESSION, "completed", null));
      ServerMessage end = mallory.next();
      assertThat(end.type()).as("end %s", end).isEqualTo(ServerMessageType.TASK_END);
      assertNoLeak(end);

      List<Session> runs = a.sessions().runs(Arena.SESSION, 10);
      assertThat(runs).extracting(Session::ownerId).containsExactly(MALLORY, Arena.OWNER);
      assertThat(runs.get(0).result()).isNull();
      assertThat(runs.get(1).result()).isEqualTo(Map.of("rows", 42));
      assertThat(runs.get(1).request()).isEqualTo(Arena.REQUEST);
      Arena.assertOnlyAnswer(mallory, MALLORY);
      Arena.assertOnlyAnswer(malloryDevice, MALLORY_DEV);
      Arena.assertOnlyAnswer(a.owner(), Arena.OWNER);
      Arena.assertOnlyAnswer(a.device(), Arena.DEVICE);
    }
  }

  @Test
  void aTaskWithTheIdOfASessionTheHubDispatchedIsRefused() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.constellation(MALLORY);
      Map<String, Object> d =
          a.http()
              .post(
                  "/api/dispatch",
                  Map.of("client_id", Arena.DEVICE, "request", "nightly", "task_name", "nightly"))
              .ok(200);
      String dispatched = (String) d.get("session_id");
      ServerMessage task = a.device().next();
      assertThat(task.sessionId()).isEqualTo(dispatched);
      Arena.Bookkeeping before = a.bookkeeping();

      mallory.send(Frames.task(MALLORY, Arena.DEVICE, dispatched, "mine now"));
      Arena.assertError(mallory.next(), "is already used by another client");
      assertRefusalEnds(mallory.next(), dispatched);
      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(a.sessions().running(dispatched).orElseThrow().ownerId()).isNull();

      a.device().send(Frames.taskEnd(Arena.DEVICE, dispatched, "completed", "nightly done"));
      await().until(() -> a.sessions().running(dispatched).isEmpty());
      mallory.expectNothing(Arena.QUIET);
      assertThat(a.http().get("/api/task_result/nightly").ok(200)).containsEntry("status", "done");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  /** The task_end that ends a refused task for its sender. */
  private static ServerMessage assertRefusalEnds(ServerMessage m, String sessionId) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(m.sessionId()).isEqualTo(sessionId);
    assertThat(m.error()).contains("already used by another client");
    return m;
  }

  /** A frame that says nothing about the session beyond the id the attacker sent itself. */
  private static void assertNoLeak(ServerMessage refusal) {
    assertThat(refusal.sessionId()).isIn(Arena.SESSION, null);
    assertThat(refusal.result()).isNull();
    assertThat(refusal.userRequest()).isNull();
    assertThat(refusal.taskName()).isIn(null, "attack_task");
    assertThat(String.valueOf(refusal.error()))
        .doesNotContain(Arena.OWNER)
        .doesNotContain(Arena.REQUEST)
        .doesNotContain(Arena.TASK_NAME)
        .doesNotContain("42");
  }
}
