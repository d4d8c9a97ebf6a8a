package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.MAX_SESSIONS_PER_CONSTELLATION;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attack 13: session floods. A constellation opening tasks past {@code
 * max_sessions_per_constellation}, and tasks for a device past its {@code max_concurrent_tasks}
 * (over AIP and over {@code /api/dispatch}), are refused with a reason and leave nothing behind;
 * the limits are per client, so others are not held back, and room comes back as sessions end.
 */
class SessionFloodAttackTest {
  private static final String MALLORY = "mallory-galaxy";
  private static final String MALLORY_DEV = "mallory-dev";

  @Test
  void aConstellationPastItsRunningSessionLimitIsRefused() {
    try (Arena a = Arena.start(b -> b.set(MAX_SESSIONS_PER_CONSTELLATION, 3))) {
      WsClient device = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      for (int i = 0; i < 10; i++) {
        mallory.send(Frames.task(MALLORY, MALLORY_DEV, "m-" + i, "task " + i));
      }
      List<String> accepted = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        ServerMessage m = mallory.next();
        assertThat(m.sessionId()).isEqualTo("m-" + i);
        if (m.type() == ServerMessageType.HEARTBEAT) {
          accepted.add(m.sessionId());
        } else {
          Arena.assertError(
              m,
              "this constellation already has its limit of 3 running sessions"
                  + " (max_sessions_per_constellation)");
          Arena.assertRefusalEnd(mallory.next(), m.sessionId(), m.error());
          assertThat(a.sessions().get(m.sessionId())).isEmpty();
        }
      }
      assertThat(accepted).containsExactly("m-0", "m-1", "m-2");
      assertThat(Clients.takeTasks(device, 3)).containsExactly("m-0", "m-1", "m-2");
      assertThat(device.pending()).isZero();
      assertThat(a.registry().getConstellationSessions(MALLORY)).hasSize(3);
      assertThat(a.sessions().counts().running()).isEqualTo(4);
      a.assertInnocentsUntouched();

      // Room comes back as a session ends.
      device.send(Frames.taskEnd(MALLORY_DEV, "m-0", "completed", "ok"));
      assertThat(mallory.next().type()).isEqualTo(ServerMessageType.TASK_END);
      mallory.send(Frames.task(MALLORY, MALLORY_DEV, "m-10", "again"));
      assertThat(mallory.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
      a.assertInnocentsUntouchedAndSessionCompletes();

      // The limit is per constellation: the innocent one is not held back by mallory's flood.
      for (int i = 0; i < 3; i++) {
        a.owner().send(Frames.task(Arena.OWNER, Arena.DEVICE, "innocent-more-" + i, "more"));
        assertThat(a.owner().next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
      }
    }
  }

  @Test
  void tasksPastADevicesConcurrencyLimitAreRefusedOverAipAndHttp(@TempDir Path dir)
      throws Exception {
    Path devices = dir.resolve("devices.json");
    Files.writeString(devices, "{\"devices\":{\"busy-dev\":{\"max_concurrent_tasks\":2}}}");
    try (Arena a = Arena.start(b -> b.set(DEVICE_CONFIG, devices))) {
      WsClient busy = a.device("busy-dev");
      WsClient mallory = a.constellation(MALLORY);
      for (int i = 0; i < 6; i++) {
        mallory.send(Frames.task(MALLORY, "busy-dev", "b-" + i, "task " + i));
      }
      for (int i = 0; i < 6; i++) {
        ServerMessage m = mallory.next();
        assertThat(m.sessionId()).isEqualTo("b-" + i);
        if (i < 2) {
          assertThat(m.type()).as("%s", m).isEqualTo(ServerMessageType.HEARTBEAT);
        } else {
          Arena.assertError(
              m,
              "device 'busy-dev' already runs its limit of 2 concurrent tasks"
                  + " (max_concurrent_tasks)");
          Arena.assertRefusalEnd(mallory.next(), m.sessionId(), m.error());
        }
      }
      assertThat(Clients.takeTasks(busy, 2)).containsExactly("b-0", "b-1");
      assertThat(
              a.http()
                  .post("/api/dispatch", Map.of("client_id", "busy-dev", "request", "x"))
                  .error(429))
          .contains("already runs its limit of 2 concurrent tasks");
      assertThat(busy.pending()).isZero();
      assertThat(a.registry().getDeviceSessions("busy-dev"))
          .containsExactlyInAnyOrder("b-0", "b-1");
      assertThat(a.sessions().counts().running()).isEqualTo(3);

      busy.send(Frames.taskEnd("busy-dev", "b-0", "completed", "ok"));
      assertThat(mallory.next().type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(
              a.http()
                  .post("/api/dispatch", Map.of("client_id", "busy-dev", "request", "y"))
                  .status())
          .isEqualTo(200);
      // The innocent device has no limit of its own and is not affected by busy-dev's.
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
