package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.RedisProcess;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A device on one node, its constellation on another: the fixture round trip across nodes. */
class ClusterRoundTripTest {
  private RedisProcess redis;
  private TestHub a;
  private TestHub b;

  @BeforeEach
  void start() {
    redis = RedisProcess.start();
    a = TestHub.start(c -> c.set(CLUSTER_REDIS, redis.url()).set(CLUSTER_NODE_ID, "node-a"));
    b = TestHub.start(c -> c.set(CLUSTER_REDIS, redis.url()).set(CLUSTER_NODE_ID, "node-b"));
  }

  @AfterEach
  void stop() {
    b.close();
    a.close();
    redis.close();
  }

  @Test
  void aTaskCrossesNodesAndItsResultComesBack() {
    try (WsClient device = a.connect();
        WsClient constellation = b.connect()) {
      device.send(Fixtures.text("client-register-device.json"));
      assertThat(device.next().status()).isEqualTo(TaskStatus.OK);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> b.server().registry().isDeviceConnected("device_windows_001"));

      constellation.send(Fixtures.text("client-register-constellation.json"));
      assertThat(constellation.next().status()).isEqualTo(TaskStatus.OK);

      constellation.send(Fixtures.text("client-task-constellation.json"));
      ServerMessage ack = constellation.next();
      assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.sessionId()).isEqualTo("weekly_report@task_3");

      ServerMessage task = device.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.userRequest()).isEqualTo("Open sales.xlsx and total column C");

      device.send(Fixtures.text("client-task-end-device.json"));
      ServerMessage end = constellation.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.result()).isEqualTo(Map.of("total", 18250.5, "sheet", "Q3"));

      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> {
                assertThat(a.server().sessions().counts().running()).isZero();
                assertThat(b.server().sessions().counts().running()).isZero();
              });
    }
  }
}
