package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 7: a forged {@code task_end} or {@code error} for a session, sent by a device that does
 * not execute it (under its own id, so identity pinning does not catch it), or by a constellation,
 * the session's own owner included. Only the executing device can end a session: the forgery is
 * refused, the owner hears nothing, and the real result still arrives.
 */
class ForgedResultAttackTest {
  private static final String MALLORY_DEV = "mallory-dev";
  private static final String MALLORY = "mallory-galaxy";

  @Test
  void aDeviceThatDoesNotRunTheSessionCannotEndOrFailIt() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.device(MALLORY_DEV);
      Arena.Bookkeeping before = a.bookkeeping();
      for (String forged :
          List.of(
              Frames.taskEnd(MALLORY_DEV, Arena.SESSION, "completed", Map.of("rows", -1)),
              Frames.taskEnd(MALLORY_DEV, Arena.SESSION, "failed", null),
              Frames.taskEnd(MALLORY_DEV, Arena.SESSION, "ok", "forged"),
              Frames.deviceError(MALLORY_DEV, Arena.SESSION, "forged failure"))) {
        mallory.send(forged);
        ServerMessage refusal =
            Arena.assertError(
                mallory.next(), "no running session 'innocent-session' on this device");
        assertThat(refusal.result()).isNull();
      }
      assertThat(a.bookkeeping()).isEqualTo(before);
      Arena.assertOnlyAnswer(mallory, MALLORY_DEV);
      a.assertInnocentsUntouchedAndSessionCompletes();
      // Once ended for real, a late forgery is refused just the same.
      mallory.send(Frames.taskEnd(MALLORY_DEV, Arena.SESSION, "failed", null));
      Arena.assertError(mallory.next(), "no running session 'innocent-session'");
      Arena.assertOnlyAnswer(a.owner(), Arena.OWNER);
    }
  }

  @Test
  void aDeviceRunningAnotherSessionCannotEndTheInnocentOne() {
    try (Arena a = Arena.start()) {
      WsClient malloryDevice = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      mallory.send(Frames.task(MALLORY, MALLORY_DEV, "mallory-1", "own work"));
      assertThat(mallory.next().sessionId()).isEqualTo("mallory-1");
      assertThat(malloryDevice.next().sessionId()).isEqualTo("mallory-1");
      Arena.Bookkeeping before = a.bookkeeping();

      malloryDevice.send(Frames.taskEnd(MALLORY_DEV, Arena.SESSION, "completed", "forged"));
      Arena.assertError(malloryDevice.next(), "no running session 'innocent-session'");
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouched();

      // Its own session it may end, and only its own owner hears of it.
      malloryDevice.send(Frames.taskEnd(MALLORY_DEV, "mallory-1", "completed", "fine"));
      ServerMessage end = mallory.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.sessionId()).isEqualTo("mallory-1");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void constellationsCannotEndSessionsNotEvenTheirOwn() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.constellation(MALLORY);
      Arena.Bookkeeping before = a.bookkeeping();
      for (WsClient c : new WsClient[] {mallory, a.owner()}) {
        String id = c == mallory ? MALLORY : Arena.OWNER;
        Map<String, Object> end = Frames.of("task_end", "completed", "constellation", id);
        end.put("session_id", Arena.SESSION);
        end.put("result", "forged");
        c.send(Frames.json(end));
        Arena.assertError(c.next(), "only the device running a session can end it");
        // An error frame from a constellation is informational: it fails nothing and gets no
        // answer (answering errors invites loops).
        Map<String, Object> error = Frames.of("error", "error", "constellation", id);
        error.put("session_id", Arena.SESSION);
        error.put("error", "forged failure");
        c.send(Frames.json(error));
      }
      assertThat(a.sessions().running(Arena.SESSION)).isPresent();
      assertThat(a.bookkeeping()).isEqualTo(before);
      Arena.assertOnlyAnswer(mallory, MALLORY);
      a.assertInnocentsUntouchedAndSessionCompletes();
      assertThat(a.sessions().get(Arena.SESSION).orElseThrow().state())
          .isEqualTo(SessionState.COMPLETED);
    }
  }
}
