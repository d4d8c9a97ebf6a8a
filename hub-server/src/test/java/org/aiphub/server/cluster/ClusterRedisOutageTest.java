package org.aiphub.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Redis goes away mid-run (a private redis-server, killed or frozen): every node keeps serving its
 * local clients, refuses cross-node work with a clear error, ends the cross-node sessions it had,
 * reports itself degraded, and resyncs when Redis is back.
 */
class ClusterRedisOutageTest {
  private ClusterRig rig;

  @BeforeEach
  void start() {
    rig = ClusterRig.privateRedis();
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  private static double degradedMetric(TestHub hub) {
    return PrometheusText.value(
        PrometheusText.parse(new HubHttp(hub).get("/metrics").body()), "hub_cluster_degraded");
  }

  private static Map<String, Object> health(TestHub hub) {
    return new HubHttp(hub).get("/api/health").ok(200);
  }

  private static void roundTrip(
      WsClient owner, String ownerId, WsClient device, String deviceId, String sessionId) {
    Clients.startTask(owner, ownerId, deviceId, sessionId);
    assertThat(Clients.takeTasks(device, 1)).containsExactly(sessionId);
    device.send(ClientFrames.taskEnd(deviceId, sessionId, "{\"s\":\"" + sessionId + "\"}"));
    ServerMessage end = owner.next();
    assertThat(end.type()).as("%s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.sessionId()).isEqualTo(sessionId);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.result()).isEqualTo(Map.of("s", sessionId));
  }

  @Test
  void nodesServeLocallyWhileRedisIsDownAndResyncWhenItIsBack() {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    String nodeA = ClusterRig.nodeId(a);
    String nodeB = ClusterRig.nodeId(b);
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galA = Clients.constellation(a, "gal-a");
        WsClient devB = Clients.device(b, "dev-b");
        WsClient galB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-a", "dev-b", "gal-b");
      assertThat(health(a)).containsEntry("status", "healthy");
      assertThat(degradedMetric(a)).isZero();
      Clients.startTask(galB, "gal-b", "dev-a", "s-cross");
      assertThat(Clients.takeTasks(devA, 1)).containsExactly("s-cross");

      rig.redisProcess().stop();

      await()
          .atMost(ClusterRig.SYNC)
          .until(() -> ClusterRig.cluster(a).degraded() && ClusterRig.cluster(b).degraded());
      // The running cross-node session ends on both sides: nothing could complete it now.
      ServerMessage ended = galB.next();
      assertThat(ended.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(ended.sessionId()).isEqualTo("s-cross");
      assertThat(ended.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(ended.error()).isEqualTo(ClusterNode.CLUSTER_UNAVAILABLE);
      ServerMessage stop = devA.next();
      assertThat(stop.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(stop.sessionId()).isEqualTo("s-cross");
      assertThat(stop.error()).isEqualTo(ClusterNode.CLUSTER_UNAVAILABLE);

      // Local work goes on, on both nodes.
      roundTrip(galA, "gal-a", devA, "dev-a", "s-local-a");
      roundTrip(galB, "gal-b", devB, "dev-b", "s-local-b");

      // Cross-node work is refused at once, naming the backplane.
      galA.send(ClientFrames.task("gal-a", "dev-b", "s-refused", "cannot cross"));
      ServerMessage refused = galA.next();
      assertThat(refused.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(refused.sessionId()).isEqualTo("s-refused");
      assertThat(refused.error()).contains("dev-b", nodeB, "backplane (Redis)");
      ServerMessage refusedEnd = galA.next(); // and the task ends at once for its sender
      assertThat(refusedEnd.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(refusedEnd.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(refusedEnd.sessionId()).isEqualTo("s-refused");
      assertThat(refusedEnd.error()).isEqualTo(refused.error());
      String httpRefusal =
          new HubHttp(a)
              .post("/api/dispatch", Map.of("client_id", "dev-b", "request", "x"))
              .error(503);
      assertThat(httpRefusal).contains("backplane (Redis)");

      // Health and metrics say so, on every node.
      for (TestHub h : List.of(a, b)) {
        Map<String, Object> health = health(h);
        assertThat(health).containsEntry("status", "degraded");
        assertThat((String) health.get("reason")).contains("Redis");
        assertThat(degradedMetric(h)).isEqualTo(1.0);
      }

      // A client registering meanwhile is announced once Redis is back.
      try (WsClient devA2 = Clients.device(a, "dev-a2")) {
        rig.redisProcess().restart();

        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () -> {
                  assertThat(ClusterRig.cluster(a).degraded()).isFalse();
                  assertThat(ClusterRig.cluster(b).degraded()).isFalse();
                  assertThat(rig.ownerNodes())
                      .isEqualTo(
                          Map.of(
                              "dev-a", nodeA, "gal-a", nodeA, "dev-a2", nodeA, "dev-b", nodeB,
                              "gal-b", nodeB));
                  assertThat(ClusterRig.cluster(b).nodeOfClient("dev-a2")).contains(nodeA);
                  assertThat(ClusterRig.cluster(b).nodeOfClient("dev-a")).contains(nodeA);
                  assertThat(ClusterRig.cluster(a).nodeOfClient("dev-b")).contains(nodeB);
                  assertThat(ClusterRig.cluster(a).nodeOfClient("gal-b")).contains(nodeB);
                });
        roundTrip(galA, "gal-a", devB, "dev-b", "s-after-a");
        roundTrip(galB, "gal-b", devA2, "dev-a2", "s-after-b");
        roundTrip(galB, "gal-b", devA, "dev-a", "s-after-b2");
        for (TestHub h : List.of(a, b)) {
          assertThat(health(h)).containsEntry("status", "healthy").doesNotContainKey("reason");
          assertThat(degradedMetric(h)).isZero();
        }
        // Nobody was disconnected by the outage.
        for (WsClient c : List.of(devA, galA, devB, galB, devA2)) {
          assertThat(c.isClosed()).isFalse();
        }
      }
    }
  }

  @Test
  void aClientThatLeftWhileRedisWasUnreachableIsNotResurrected() {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    WsClient leaves = Clients.device(a, "dev-leaves");
    try (WsClient stays = Clients.device(a, "dev-stays")) {
      ClusterRig.awaitEverywhere(List.of(b), "dev-stays", "dev-leaves");

      // Redis stops answering but keeps its data (a partition): the nodes notice by timeouts.
      rig.redisProcess().pause();
      try {
        await()
            .atMost(ClusterRig.SYNC)
            .until(() -> ClusterRig.cluster(a).degraded() && ClusterRig.cluster(b).degraded());
        leaves.close();
        await().atMost(ClusterRig.SYNC).until(() -> !a.server().registry().isOnline("dev-leaves"));
      } finally {
        rig.redisProcess().unpause();
      }

      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(ClusterRig.cluster(a).degraded()).isFalse();
                assertThat(ClusterRig.cluster(b).degraded()).isFalse();
                assertThat(rig.owners()).containsOnlyKeys("dev-stays");
                assertThat(b.server().registry().listClients()).containsExactly("dev-stays");
              });
      assertThat(stays.isClosed()).isFalse();
    } finally {
      leaves.close();
    }
  }

  @Test
  void aClientThatLeftWhileRedisWasStoppedIsDroppedEverywhereWhenRedisComesBackEmpty() {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    String nodeA = ClusterRig.nodeId(a);
    String nodeB = ClusterRig.nodeId(b);
    WsClient leaves = Clients.device(a, "dev-leaves");
    try (WsClient stays = Clients.device(a, "dev-stays");
        WsClient galB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-stays", "dev-leaves", "gal-b");

      // Redis dies and comes back empty (no persistence): nobody can publish the leave meanwhile,
      // and afterwards nothing in Redis remembers the client.
      rig.redisProcess().stop();
      await()
          .atMost(ClusterRig.SYNC)
          .until(() -> ClusterRig.cluster(a).degraded() && ClusterRig.cluster(b).degraded());
      leaves.close();
      await().atMost(ClusterRig.SYNC).until(() -> !a.server().registry().isOnline("dev-leaves"));
      assertThat(b.server().registry().isOnline("dev-leaves")).as("b cannot know yet").isTrue();
      rig.redisProcess().restart();

      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(ClusterRig.cluster(a).degraded()).isFalse();
                assertThat(ClusterRig.cluster(b).degraded()).isFalse();
                assertThat(rig.ownerNodes()).isEqualTo(Map.of("dev-stays", nodeA, "gal-b", nodeB));
                assertThat(b.server().registry().listClients())
                    .containsExactlyInAnyOrder("dev-stays", "gal-b");
                assertThat(a.server().registry().listClients())
                    .containsExactlyInAnyOrder("dev-stays", "gal-b");
              });
      // The client that stayed is still online, and takes work from b.
      assertThat(stays.isClosed()).isFalse();
      roundTrip(galB, "gal-b", stays, "dev-stays", "s-after");
      for (TestHub h : List.of(a, b)) {
        Clients.assertNoMappingsAndConsistent(h.server().registry());
      }
    } finally {
      leaves.close();
    }
  }

  @Test
  void aNodeThatRejoinsAfterItsPeerKeepsItsClientsWhenBothLeasesLapsedInTheOutage() {
    TestHub a = rig.shortLeaseNode("a", c -> c);
    TestHub b = rig.shortLeaseNode("b", c -> c);
    String nodeA = ClusterRig.nodeId(a);
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-b");

      // Redis freezes with its data; both nodes notice only by timeouts, after their leases ran
      // out (the command timeout is longer than the lease).
      rig.redisProcess().pause();
      CountDownLatch late;
      try {
        await()
            .atMost(ClusterRig.SYNC)
            .until(() -> ClusterRig.cluster(a).degraded() && ClusterRig.cluster(b).degraded());
        // a will be slow to notice that Redis is back (say its reconnect backs off longer).
        late = rig.stall(a);
      } finally {
        rig.redisProcess().unpause();
      }
      await().atMost(ClusterRig.SYNC).until(() -> !ClusterRig.cluster(b).degraded());

      // b is back first. a's lease lapsed during the outage, not by a's fault: b gives it time to
      // come back before reaping it.
      await()
          .during(Duration.ofMillis(2 * ClusterRig.RENEW.toMillis()))
          .atMost(Duration.ofSeconds(10))
          .until(() -> !rig.exists("hub:reaped:" + nodeA));
      ClusterRig.resume(late);

      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(ClusterRig.cluster(a).degraded()).isFalse();
                assertThat(rig.ownerNodes()).containsEntry("dev-a", nodeA);
                assertThat(ClusterRig.cluster(b).nodeOfClient("dev-a")).contains(nodeA);
              });
      assertThat(devA.isClosed()).as("a kept its sockets").isFalse();
      roundTrip(galB, "gal-b", devA, "dev-a", "s-after");
    }
  }

  private static long lettuceThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("lettuce-"))
        .count();
  }

  @Test
  void aNodeStartedWhileRedisIsDownServesLocallyAndJoinsWhenRedisComesUp() {
    rig.redisProcess().stop();
    long threadsBefore = lettuceThreads();
    TestHub a = rig.node("a");
    assertThat(ClusterRig.cluster(a).degraded()).isTrue();
    try (WsClient dev = Clients.device(a, "dev-a");
        WsClient gal = Clients.constellation(a, "gal-a")) {
      roundTrip(gal, "gal-a", dev, "dev-a", "s-before");
      assertThat(health(a)).containsEntry("status", "degraded");

      // Failed connection attempts every renewal interval must not pile up clients and threads.
      await()
          .during(Duration.ofMillis(6 * ClusterRig.RENEW.toMillis()))
          .atMost(Duration.ofSeconds(15))
          .until(() -> lettuceThreads() <= threadsBefore + 8);

      rig.redisProcess().restart();
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(ClusterRig.cluster(a).degraded()).isFalse();
                assertThat(rig.ownerNodes())
                    .isEqualTo(
                        Map.of("dev-a", ClusterRig.nodeId(a), "gal-a", ClusterRig.nodeId(a)));
              });
      assertThat(health(a)).containsEntry("status", "healthy");
      TestHub b = rig.node("b");
      try (WsClient galB = Clients.constellation(b, "gal-b")) {
        ClusterRig.awaitEverywhere(List.of(b), "dev-a");
        roundTrip(galB, "gal-b", dev, "dev-a", "s-after");
      }
    }
  }
}
