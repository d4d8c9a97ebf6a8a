package org.aiphub.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.SetArgs;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Nodes that crash or stop renewing: the survivors end the sessions involving them within the lease
 * and one renewal interval, and reap their entries; a node that comes back after losing its lease
 * closes its sockets instead of resurrecting them.
 */
class ClusterNodeFailureTest {
  /** Lease + one renewal, the bound, plus slack for a loaded 2-core machine. */
  private static final Duration BOUND =
      ClusterRig.SHORT_LEASE.plus(ClusterRig.RENEW).plus(Duration.ofSeconds(4));

  private ClusterRig rig;

  @BeforeEach
  void start() {
    rig = ClusterRig.start();
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  @SuppressWarnings("unchecked")
  private static List<String> onlineClients(TestHub hub) {
    return (List<String>) new HubHttp(hub).get("/api/clients").ok(200).get("online_clients");
  }

  private static ServerMessage nextWithin(WsClient c, Duration bound) {
    long start = System.nanoTime();
    ServerMessage m = c.next();
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(took).as("%s arrived after %s", m, took).isLessThanOrEqualTo(bound);
    return m;
  }

  @Test
  void ownersOnTheSurvivingNodesLearnThatTheKilledNodesDeviceIsGone() {
    TestHub a = rig.shortLeaseNode("a", c -> c);
    TestHub b = rig.shortLeaseNode("b", c -> c);
    TestHub c = rig.shortLeaseNode("c", x -> x);
    String nodeA = ClusterRig.nodeId(a);
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galA = Clients.constellation(a, "gal-a");
        WsClient ownerB = Clients.constellation(b, "gal-b");
        WsClient ownerC = Clients.constellation(c, "gal-c");
        WsClient devB = Clients.device(b, "dev-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b, c), "dev-a", "gal-a", "gal-b", "gal-c", "dev-b");
      Clients.startTask(ownerB, "gal-b", "dev-a", "s-b");
      Clients.startTask(ownerC, "gal-c", "dev-a", "s-c");
      assertThat(Clients.takeTasks(devA, 2)).containsExactlyInAnyOrder("s-b", "s-c");
      // a's constellation drives b's device too: that session is cancelled on b.
      Clients.startTask(galA, "gal-a", "dev-b", "s-a");
      assertThat(Clients.takeTasks(devB, 1)).containsExactly("s-a");

      a.server().kill();

      ServerMessage endB = nextWithin(ownerB, BOUND);
      assertThat(endB.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(endB.sessionId()).isEqualTo("s-b");
      assertThat(endB.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(endB.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
      ServerMessage endC = nextWithin(ownerC, BOUND);
      assertThat(endC.sessionId()).isEqualTo("s-c");
      assertThat(endC.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(endC.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
      ServerMessage stop = nextWithin(devB, BOUND);
      assertThat(stop.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(stop.sessionId()).isEqualTo("s-a");
      assertThat(stop.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);

      // The killed node's entries are gone from the survivors and from Redis.
      for (TestHub h : List.of(b, c)) {
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () -> assertThat(onlineClients(h)).containsExactly("dev-b", "gal-b", "gal-c"));
        Clients.assertNoMappingsAndConsistent(h.server().registry());
        assertThat(h.server().sessions().counts().running()).isZero();
        assertThat(ClusterRig.cluster(h).view().nodes()).doesNotContainKey(nodeA);
      }
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(rig.ownerNodes()).doesNotContainValue(nodeA);
                assertThat(rig.redis().hkeys("hub:clients")).doesNotContain("dev-a", "gal-a");
                assertThat(rig.liveNodes()).doesNotContain(nodeA);
                assertThat(rig.exists("hub:node-clients:" + nodeA)).isFalse();
                assertThat(rig.exists("hub:node:" + nodeA)).isFalse();
              });
      ownerB.expectNothing(Duration.ofMillis(300));
      ownerC.expectNothing(Duration.ofMillis(0));
    }
  }

  @Test
  void aKilledConstellationNodeCancelsItsSessionsAndTheDevicesAreTold() {
    TestHub a = rig.shortLeaseNode("a", c -> c);
    TestHub b = rig.shortLeaseNode("b", c -> c);
    String nodeA = ClusterRig.nodeId(a);
    try (WsClient galA = Clients.constellation(a, "gal-a");
        WsClient devB = Clients.device(b, "dev-b");
        WsClient devB2 = Clients.device(b, "dev-b2")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "gal-a", "dev-b", "dev-b2");
      Clients.startTask(galA, "gal-a", "dev-b", "s-1");
      Clients.startTask(galA, "gal-a", "dev-b2", "s-2");
      assertThat(Clients.takeTasks(devB, 1)).containsExactly("s-1");
      assertThat(Clients.takeTasks(devB2, 1)).containsExactly("s-2");
      // The owner's node published both sessions, indexed under itself: what the others reap.
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(rig.redis().hkeys("hub:sessions")).contains("s-1", "s-2");
                assertThat(rig.redis().hget("hub:sessions", "s-1"))
                    .contains("\"owner\":\"gal-a\"", "\"executor\":\"dev-b\"", "running");
                assertThat(rig.redis().smembers("hub:node-sessions:" + nodeA))
                    .containsExactlyInAnyOrder("s-1", "s-2");
              });

      a.server().kill();

      for (WsClient d : List.of(devB, devB2)) {
        ServerMessage stop = nextWithin(d, BOUND);
        assertThat(stop.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(stop.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(stop.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
      }
      assertThat(b.server().sessions().get("s-1").orElseThrow().state().wire())
          .isEqualTo("cancelled");
      // A late task_end from the device finds no session, and nothing is held for the dead owner.
      devB.send(ClientFrames.taskEnd("dev-b", "s-1", "{\"late\":true}"));
      assertThat(devB.next().type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(b.server().sessions().counts().held()).isZero();
      assertThat(onlineClients(b)).containsExactly("dev-b", "dev-b2");
      Clients.assertNoMappingsAndConsistent(b.server().registry());
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(rig.ownerNodes()).containsOnlyKeys("dev-b", "dev-b2");
                assertThat(rig.exists("hub:node-sessions:" + nodeA)).isFalse();
                assertThat(rig.redis().hkeys("hub:sessions")).doesNotContain("s-1", "s-2");
              });
    }
  }

  @Test
  void aNodeThatLostItsLeaseClosesItsSocketsAndResurrectsNothing() {
    TestHub a = rig.shortLeaseNode("a", c -> c);
    TestHub b = rig.shortLeaseNode("b", c -> c);
    String nodeA = ClusterRig.nodeId(a);
    String nodeB = ClusterRig.nodeId(b);
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galA = Clients.constellation(a, "gal-a");
        WsClient ownerB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-a", "gal-b");
      Clients.startTask(ownerB, "gal-b", "dev-a", "s-1");
      assertThat(Clients.takeTasks(devA, 1)).containsExactly("s-1");

      // a stops renewing (a long pause) while its sockets stay open; b reaps it.
      CountDownLatch paused = rig.stall(a);
      ServerMessage end = nextWithin(ownerB, BOUND);
      assertThat(end.sessionId()).isEqualTo("s-1");
      assertThat(end.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
      ClusterRig.awaitGoneEverywhere(List.of(b), "dev-a", "gal-a");
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(() -> assertThat(rig.exists("hub:reaped:" + nodeA)).isTrue());
      assertThat(devA.isClosed()).isFalse();

      // a wakes up, finds it was reaped, and closes its sockets rather than re-announce them.
      ClusterRig.resume(paused);
      assertThat(devA.awaitClose()).isEqualTo(ClusterNode.CLOSE_LEASE_LOST);
      assertThat(galA.awaitClose()).isEqualTo(ClusterNode.CLOSE_LEASE_LOST);
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(rig.exists("hub:node:" + nodeA)).as("a rejoined").isTrue();
                assertThat(ClusterRig.cluster(a).degraded()).isFalse();
                assertThat(a.server().registry().listClients()).containsExactly("gal-b");
                assertThat(ClusterRig.cluster(b).view().nodes())
                    .containsEntry(nodeA, Map.of("devices", 0, "constellations", 0));
              });
      // Nothing stale anywhere: b never sees dev-a or gal-a again, Redis holds only gal-b.
      await()
          .during(Duration.ofMillis(4 * ClusterRig.RENEW.toMillis()))
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                assertThat(b.server().registry().listClients()).containsExactly("gal-b");
                assertThat(rig.ownerNodes()).isEqualTo(Map.of("gal-b", nodeB));
              });
      ownerB.expectNothing(Duration.ofMillis(0));
      Clients.assertNoMappingsAndConsistent(a.server().registry());
      Clients.assertNoMappingsAndConsistent(b.server().registry());

      // The clients come back afresh, on the node that was reaped, and the cluster sees them.
      try (WsClient devAgain = Clients.device(a, "dev-a")) {
        ClusterRig.awaitEverywhere(List.of(b), "dev-a");
        Clients.startTask(ownerB, "gal-b", "dev-a", "s-2");
        assertThat(Clients.takeTasks(devAgain, 1)).containsExactly("s-2");
        devAgain.send(ClientFrames.taskEnd("dev-a", "s-2", "{\"back\":true}"));
        assertThat(ownerB.next().status()).isEqualTo(TaskStatus.COMPLETED);
      }
    }
  }

  @Test
  void aPeerWhoseLeaseIsBackWhenTheReapRunsIsNotDeclaredDown() throws InterruptedException {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    String nodeA = ClusterRig.nodeId(a);
    String leaseKey = "hub:node:" + nodeA;
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-b");
      Clients.startTask(galB, "gal-b", "dev-a", "s-1");
      assertThat(Clients.takeTasks(devA, 1)).containsExactly("s-1");

      // a pauses and its lease lapses; a renews it just as b gets round to reaping a. b may only
      // act on what the reap itself finds: a's lease, so a is alive and its session goes on.
      String epoch = rig.redis().get(leaseKey);
      CountDownLatch renewedJustInTime = new CountDownLatch(1);
      ClusterRig.cluster(b)
          .onBeforeReap(
              peer -> {
                if (peer.equals(nodeA) && !rig.exists(leaseKey)) {
                  rig.redis()
                      .set(leaseKey, epoch, SetArgs.Builder.px(ClusterRig.CALM_LEASE.toMillis()));
                  renewedJustInTime.countDown();
                }
              });
      CountDownLatch paused = rig.stall(a);
      rig.redis().del(leaseKey);
      assertThat(renewedJustInTime.await(ClusterRig.SYNC.toSeconds(), TimeUnit.SECONDS))
          .as("b checked a while its lease was missing")
          .isTrue();
      ClusterRig.resume(paused);

      galB.expectNothing(Duration.ofMillis(4 * ClusterRig.RENEW.toMillis()));
      assertThat(b.server().registry().isOnline("dev-a")).isTrue();
      assertThat(rig.exists("hub:reaped:" + nodeA)).isFalse();
      assertThat(rig.ownerNodes()).containsEntry("dev-a", nodeA);
      devA.send(ClientFrames.taskEnd("dev-a", "s-1", "{\"went\":\"on\"}"));
      ServerMessage end = galB.next();
      assertThat(end.sessionId()).isEqualTo("s-1");
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(devA.isClosed()).isFalse();
    }
  }

  @Test
  void aNodeThatShutsDownGracefullyEndsItsCrossNodeSessionsAndLeavesAtOnce() {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    String nodeA = ClusterRig.nodeId(a);
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galA = Clients.constellation(a, "gal-a");
        WsClient devB = Clients.device(b, "dev-b");
        WsClient galB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-a", "dev-b", "gal-b");
      Clients.startTask(galB, "gal-b", "dev-a", "s-to-a");
      Clients.startTask(galA, "gal-a", "dev-b", "s-from-a");
      assertThat(Clients.takeTasks(devA, 1)).containsExactly("s-to-a");
      assertThat(Clients.takeTasks(devB, 1)).containsExactly("s-from-a");

      // The calm lease is 6 s: everything below happens because a said goodbye, not by expiry.
      a.server().shutdown();

      ServerMessage end = nextWithin(galB, Duration.ofSeconds(5));
      assertThat(end.sessionId()).isEqualTo("s-to-a");
      assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(end.error()).isEqualTo(org.aiphub.server.HubServer.SERVER_SHUTDOWN);
      ServerMessage stop = nextWithin(devB, Duration.ofSeconds(5));
      assertThat(stop.sessionId()).isEqualTo("s-from-a");
      assertThat(stop.type()).isEqualTo(ServerMessageType.TASK_END);
      ClusterRig.awaitGoneEverywhere(List.of(b), "dev-a", "gal-a");
      assertThat(rig.ownerNodes()).doesNotContainValue(nodeA);
      assertThat(rig.exists("hub:node:" + nodeA)).isFalse();
      assertThat(rig.liveNodes()).doesNotContain(nodeA);
      Clients.assertNoMappingsAndConsistent(b.server().registry());
      assertThat(b.server().sessions().counts().running()).isZero();
    }
  }
}
