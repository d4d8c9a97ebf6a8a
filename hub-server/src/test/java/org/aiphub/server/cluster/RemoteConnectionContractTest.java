package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.testing.ClientConnectionContract;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.RedisProcess;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The {@link ClientConnection} contract for {@link RemoteConnection}: node b's entry for a device
 * whose socket node a holds, over a real Redis. It reports a write once it is published and a
 * failure when it cannot publish, but cannot see the device's socket on the other node, so after a
 * close it only promises "at most once".
 */
class RemoteConnectionContractTest extends ClientConnectionContract {
  private static RedisProcess redis;
  private static TestHub a;
  private static TestHub b;
  private static int n;

  private final List<WsClient> devices = new ArrayList<>();

  @BeforeAll
  static void startNodes() {
    redis = RedisProcess.start();
    a = TestHub.start(c -> c.set(CLUSTER_REDIS, redis.url()).set(CLUSTER_NODE_ID, "contract-a"));
    b = TestHub.start(c -> c.set(CLUSTER_REDIS, redis.url()).set(CLUSTER_NODE_ID, "contract-b"));
  }

  @AfterAll
  static void stopNodes() {
    b.close();
    a.close();
    redis.close();
  }

  @AfterEach
  void closeDevices() {
    devices.forEach(WsClient::close);
  }

  @Override
  protected ClientConnection open() {
    String id = "contract-device-" + n++;
    WsClient device = a.connect();
    devices.add(device);
    device.send(ClientFrames.registerDevice(id));
    assertThat(device.next().status()).isEqualTo(TaskStatus.OK);
    await().atMost(ClusterRig.SYNC).until(() -> b.server().registry().getClient(id).isPresent());
    ClientConnection remote = b.server().registry().getClient(id).orElseThrow();
    assertThat(remote).isInstanceOf(RemoteConnection.class);
    return remote;
  }

  @Override
  protected Duration patience() {
    return Duration.ofSeconds(10);
  }
}
