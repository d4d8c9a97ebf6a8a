package org.aiphub.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Galaxy-style round trip of docs/PROTOCOL.md ("Example: a Galaxy-style round trip"), with the
 * fixture frames sent byte for byte.
 */
class RoundTripTest {
  private TestHub hub;

  @BeforeEach
  void start() {
    hub = TestHub.start();
  }

  @AfterEach
  void stop() {
    hub.close();
  }

  @Test
  void constellationTaskReachesTheDeviceAndTheResultComesBack() {
    try (WsClient device = hub.connect();
        WsClient constellation = hub.connect()) {
      device.send(Fixtures.text("client-register-device.json"));
      ServerMessage ok = device.next();
      assertThat(ok.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ok.status()).isEqualTo(TaskStatus.OK);
      assertThat(ok.responseId()).isNotBlank();

      constellation.send(Fixtures.text("client-register-constellation.json"));
      assertThat(constellation.next().status()).isEqualTo(TaskStatus.OK);

      constellation.send(Fixtures.text("client-task-constellation.json"));
      ServerMessage ack = constellation.next();
      assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.sessionId()).isEqualTo("weekly_report@task_3");

      ServerMessage task = device.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.status()).isEqualTo(TaskStatus.CONTINUE);
      assertThat(task.userRequest()).isEqualTo("Open sales.xlsx and total column C");
      assertThat(task.taskName()).isEqualTo("galaxy/weekly_report/fill_sheet");
      assertThat(task.sessionId()).isEqualTo("weekly_report@task_3");

      device.send(Fixtures.text("client-task-end-device.json"));
      ServerMessage end = constellation.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.sessionId()).isEqualTo("weekly_report@task_3");
      assertThat(end.result()).isEqualTo(Map.of("total", 18250.5, "sheet", "Q3"));
      assertThat(end.responseId()).isNotBlank();

      assertThat(hub.server().registry().getDeviceSessions("device_windows_001")).isEmpty();
      assertThat(
              hub.server().registry().getConstellationSessions("weekly_report@device_windows_001"))
          .isEmpty();
    }
  }
}
