package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DEFAULT_MAX_CONCURRENT_TASKS;
import static org.aiphub.server.config.Settings.MAX_SESSIONS_PER_CONSTELLATION;
import static org.aiphub.server.e2e.AipHarness.QUIET;
import static org.aiphub.server.e2e.AipHarness.assertAlive;
import static org.aiphub.server.e2e.AipHarness.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A refused task ends at once for its sender (a hub rule, beyond the reference server, which sends
 * only the error): Galaxy only logs {@code error} frames and waits for the task's {@code task_end},
 * so a task refused with the error alone hung until Galaxy's task timeout. Every refusal of a task
 * that carried a session id is the error frame, then {@code {"type":"task_end","status":"failed",
 * "session_id":...,"error":<the same reason>}}, and nothing else; a task without a session id gets
 * the error alone. (A device on another node that cannot be reached while Redis is down is the same
 * refusal: {@code ClusterRedisOutageTest}.)
 */
class RefusedTaskEndToEndTest {
  private AipHarness h;

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  /** The client whose task was refused, and what it must be told. */
  record Provoked(WsClient sender, String senderId, String senderType, String sid, String phrase) {
    static Provoked byConstellation(WsClient c, String id, String sid, String phrase) {
      return new Provoked(c, id, "constellation", sid, phrase);
    }
  }

  /** Every reason the hub refuses a task for, each provoked over real sockets. */
  enum Refusal {
    TARGET_OFFLINE {
      @Override
      Provoked provoke(AipHarness h) {
        WsClient c = h.constellation("galaxy-1", null);
        c.send(AipFrames.task("galaxy-1", "dev-gone", "s-1", "hello").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "'dev-gone' is not connected");
      }
    },
    TARGET_IS_NOT_A_DEVICE {
      @Override
      Provoked provoke(AipHarness h) {
        h.constellation("galaxy-2", null);
        WsClient c = h.constellation("galaxy-1", null);
        c.send(AipFrames.task("galaxy-1", "galaxy-2", "s-1", "hello").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "'galaxy-2' is not connected");
      }
    },
    DEVICE_AT_ITS_LIMIT {
      @Override
      UnaryOperator<HubConfig.Builder> config() {
        return b -> b.set(DEFAULT_MAX_CONCURRENT_TASKS, 1);
      }

      @Override
      Provoked provoke(AipHarness h) {
        WsClient d = h.device("dev-1");
        WsClient c = h.constellation("galaxy-1", "dev-1");
        h.startTask(c, "galaxy-1", d, "dev-1", "s-0");
        c.send(AipFrames.task("galaxy-1", "dev-1", "s-1", "one too many").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "limit of 1 concurrent tasks");
      }
    },
    CONSTELLATION_AT_ITS_LIMIT {
      @Override
      UnaryOperator<HubConfig.Builder> config() {
        return b -> b.set(MAX_SESSIONS_PER_CONSTELLATION, 1);
      }

      @Override
      Provoked provoke(AipHarness h) {
        WsClient d = h.device("dev-1");
        WsClient c = h.constellation("galaxy-1", "dev-1");
        h.startTask(c, "galaxy-1", d, "dev-1", "s-0");
        c.send(AipFrames.task("galaxy-1", "dev-1", "s-1", "one too many").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "max_sessions_per_constellation");
      }
    },
    SESSION_ID_RUNNING_FOR_ANOTHER_OWNER {
      @Override
      Provoked provoke(AipHarness h) {
        WsClient d = h.device("dev-1");
        WsClient owner = h.constellation("galaxy-a", null);
        WsClient c = h.constellation("galaxy-b", null);
        h.startTask(owner, "galaxy-a", d, "dev-1", "s-1");
        c.send(AipFrames.task("galaxy-b", "dev-1", "s-1", "mine").text());
        return Provoked.byConstellation(c, "galaxy-b", "s-1", "already used by another client");
      }
    },
    SESSION_ID_HELD_FOR_ITS_OFFLINE_OWNER {
      @Override
      Provoked provoke(AipHarness h) {
        WsClient d = h.device("dev-1");
        WsClient owner = h.constellation("galaxy-a", null);
        WsClient c = h.constellation("galaxy-b", null);
        h.startTask(owner, "galaxy-a", d, "dev-1", "s-1");
        owner.close();
        await().until(() -> h.sessions().counts().held() == 1);
        c.send(AipFrames.task("galaxy-b", "dev-1", "s-1", "mine").text());
        return Provoked.byConstellation(c, "galaxy-b", "s-1", "already used by another client");
      }
    },
    OUT_OF_SCOPE {
      @Override
      Provoked provoke(AipHarness h) {
        h.device("dev-x");
        h.device("dev-y");
        WsClient c = h.constellation("galaxy-1", "dev-x");
        c.send(AipFrames.task("galaxy-1", "dev-y", "s-1", "hello").text());
        return Provoked.byConstellation(
            c, "galaxy-1", "s-1", "registered for device 'dev-x' and may only send tasks to it");
      }
    },
    SHUTTING_DOWN {
      @Override
      Provoked provoke(AipHarness h) {
        h.device("dev-1");
        WsClient c = h.constellation("galaxy-1", "dev-1");
        h.hub().server().router().beginShutdown();
        c.send(AipFrames.task("galaxy-1", "dev-1", "s-1", "too late").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "the hub is shutting down");
      }
    },
    NO_TARGET {
      @Override
      Provoked provoke(AipHarness h) {
        WsClient c = h.constellation("galaxy-1", null);
        c.send(AipFrames.task("galaxy-1", null, "s-1", "hello").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "a task needs a target_id");
      }
    },
    NO_REQUEST {
      @Override
      Provoked provoke(AipHarness h) {
        h.device("dev-1");
        WsClient c = h.constellation("galaxy-1", "dev-1");
        c.send(AipFrames.task("galaxy-1", "dev-1", "s-1", "").text());
        return Provoked.byConstellation(c, "galaxy-1", "s-1", "a task needs a non-empty request");
      }
    },
    UNSAFE_SESSION_ID {
      @Override
      Provoked provoke(AipHarness h) {
        h.device("dev-1");
        WsClient c = h.constellation("galaxy-1", "dev-1");
        c.send(AipFrames.task("galaxy-1", "dev-1", "my task@t1", "hello").text());
        // Echoed exactly as sent, so that the sender can match the task_end to its task.
        return Provoked.byConstellation(
            c, "galaxy-1", "my task@t1", "holds a character outside letters, digits");
      }
    },
    IDENTITY_MISMATCH {
      @Override
      Provoked provoke(AipHarness h) {
        h.device("dev-1");
        WsClient c = h.constellation("galaxy-1", null);
        c.send(AipFrames.task("galaxy-other", "dev-1", "s-1", "hello").text());
        return Provoked.byConstellation(
            c, "galaxy-1", "s-1", "client_id 'galaxy-other' does not match the registered id");
      }
    },
    TASK_FROM_A_DEVICE {
      @Override
      Provoked provoke(AipHarness h) {
        WsClient d = h.device("dev-1");
        d.send(
            AipFrames.frame("task", "continue", "device", "dev-1")
                .set("target_id", "dev-1")
                .set("request", "run yourself")
                .set("session_id", "d-1")
                .text());
        return new Provoked(d, "dev-1", "device", "d-1", "devices cannot start tasks");
      }
    };

    UnaryOperator<HubConfig.Builder> config() {
      return b -> b;
    }

    abstract Provoked provoke(AipHarness h);
  }

  @ParameterizedTest
  @EnumSource(Refusal.class)
  void aRefusedTaskWithASessionIdGetsTheErrorThenAFailedTaskEnd(Refusal refusal) {
    h = AipHarness.start(refusal.config());

    Provoked p = refusal.provoke(h);

    ServerMessage error = assertError(p.sender().next(), p.phrase());
    ServerMessage end = p.sender().next();
    assertThat(end.type()).as("after the error: %s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.sessionId()).isEqualTo(p.sid());
    assertThat(end.error()).isEqualTo(error.error());
    assertThat(end.result()).isNull();
    assertThat(end.taskName()).isNull();
    assertThat(end.responseId()).isNotBlank().isNotEqualTo(error.responseId());
    assertThat(end.timestamp()).isNotBlank();
    p.sender().expectNothing(QUIET);
    assertThat(h.registry().getSessionOwner(p.sid()))
        .as("the refused task owns nothing")
        .isNotEqualTo(Optional.of(p.senderId()));
    if (refusal != Refusal.SHUTTING_DOWN) {
      assertAlive(p.sender(), p.senderId(), p.senderType());
    }
  }

  @Test
  void aRefusedTaskWithoutSessionIdGetsOnlyTheError() {
    h = AipHarness.start();
    WsClient c = h.constellation("galaxy-1", null);

    c.send(AipFrames.task("galaxy-1", "dev-gone", null, "hello").text());

    assertError(c.next(), "'dev-gone' is not connected");
    c.expectNothing(QUIET);
    assertAlive(c, "galaxy-1", "constellation");
  }

  @Test
  void theTaskEndOfARefusalLeavesAnotherOwnersRunningSessionAlone() {
    h = AipHarness.start();
    WsClient d = h.device("dev-1");
    WsClient owner = h.constellation("galaxy-a", null);
    WsClient other = h.constellation("galaxy-b", null);
    h.startTask(owner, "galaxy-a", d, "dev-1", "s-1");

    other.send(AipFrames.task("galaxy-b", "dev-1", "s-1", "mine").text());
    assertError(other.next(), "already used by another client");
    assertThat(other.next().type()).isEqualTo(ServerMessageType.TASK_END);

    owner.expectNothing(QUIET);
    d.expectNothing(QUIET);
    assertThat(h.sessions().running("s-1").orElseThrow().ownerId()).isEqualTo("galaxy-a");
    d.send(AipFrames.taskEnd("dev-1", "s-1", "completed").json("result", "{\"ok\":true}").text());
    ServerMessage end = owner.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.result()).isEqualTo(Map.of("ok", true));
    other.expectNothing(QUIET);
  }

  @Test
  void anOwnerResendingItsRunningSessionGetsTheErrorAloneThenTheRealOutcome() {
    h = AipHarness.start();
    WsClient d = h.device("dev-1");
    WsClient owner = h.constellation("galaxy-a", "dev-1");
    h.startTask(owner, "galaxy-a", d, "dev-1", "s-1");

    owner.send(AipFrames.task("galaxy-a", "dev-1", "s-1", "again").text());

    // A failed task_end now would tell the owner that a session which goes on had ended.
    assertError(owner.next(), "session 's-1' is already running");
    owner.expectNothing(QUIET);
    d.send(AipFrames.taskEnd("dev-1", "s-1", "completed").text());
    ServerMessage end = owner.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
  }
}
