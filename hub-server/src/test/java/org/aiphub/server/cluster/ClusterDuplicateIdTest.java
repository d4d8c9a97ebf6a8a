package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.aiphub.server.config.Settings.UNICODE_IDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The duplicate-id policy applies across nodes: reject keeps the holder, takeover moves the id. */
class ClusterDuplicateIdTest {
  private static final Duration QUIET = Duration.ofMillis(300);

  private ClusterRig rig;

  @BeforeEach
  void start() {
    rig = ClusterRig.start();
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  @Test
  void rejectRefusesTheNewcomerOnAnotherNodeWhileTheHolderLives() {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    try (WsClient holder = Clients.device(a, "dev-1");
        WsClient owner = Clients.constellation(b, "gal-1");
        WsClient newcomer = b.connect()) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-1", "gal-1");
      ClientConnection mirrored = b.server().registry().getClient("dev-1").orElseThrow();

      // b probes the holder first; a mirrored holder counts as alive, so the newcomer is refused.
      newcomer.send(ClientFrames.registerDevice("dev-1"));
      ServerMessage error = newcomer.next();
      assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(error.error()).contains("already registered");
      assertThat(newcomer.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);

      // Nothing moved: a still holds dev-1, b still mirrors it, Redis still names a.
      assertThat(holder.isClosed()).isFalse();
      assertThat(ClusterRig.holdsLocally(a, "dev-1")).isTrue();
      assertThat(b.server().registry().getClient("dev-1")).containsSame(mirrored);
      assertThat(rig.ownerNodes()).containsEntry("dev-1", ClusterRig.nodeId(a));

      // And the holder keeps its traffic.
      Clients.startTask(owner, "gal-1", "dev-1", "s-1");
      assertThat(Clients.takeTasks(holder, 1)).containsExactly("s-1");
      holder.send(ClientFrames.taskEnd("dev-1", "s-1", "{\"ok\":true}"));
      ServerMessage end = owner.next();
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.result()).isEqualTo(Map.of("ok", true));
      owner.expectNothing(QUIET);
    }
  }

  @Test
  void aLookAlikeOfAClientOnAnotherNodeIsRefused() {
    // Node b mirrors a's clients, mirrored ids included in its folded index: a look-alike of an id
    // live on a is refused on b, as on a, under either id rule.
    for (boolean unicode : List.of(false, true)) {
      TestHub a = rig.node("a" + unicode, cfg -> cfg.set(UNICODE_IDS, unicode));
      TestHub b = rig.node("b" + unicode, cfg -> cfg.set(UNICODE_IDS, unicode));
      try (WsClient holder = Clients.device(a, "Dev-Remote-1")) {
        ClusterRig.awaitEverywhere(List.of(a, b), "Dev-Remote-1");
        for (TestHub node : List.of(b, a)) {
          try (WsClient lookAlike = node.connect()) {
            lookAlike.send(ClientFrames.registerDevice("dev-remote-1"));
            ServerMessage error = lookAlike.next();
            assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
            assertThat(error.error())
                .contains("the online client id 'Dev-Remote-1'")
                .contains("look-alike ids are refused");
            assertThat(lookAlike.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
          }
        }
        assertThat(b.server().registry().getClient("dev-remote-1")).isEmpty();
        assertThat(rig.ownerNodes()).doesNotContainKey("dev-remote-1");
        assertThat(holder.isClosed()).isFalse();
      }
      // Once it has left everywhere, the other spelling is free on b.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> b.server().registry().getClient("Dev-Remote-1").isEmpty());
      try (WsClient other = Clients.device(b, "dev-remote-1")) {
        assertThat(other.isClosed()).isFalse();
      }
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  a.server().registry().listClients().isEmpty()
                      && !rig.ownerNodes().containsKey("dev-remote-1"));
    }
  }

  @Test
  void rejectResolvesASimultaneousRegistrationToOneHolder() {
    TestHub a = rig.node("a");
    TestHub b = rig.node("b");
    // b's cluster side is stalled: it registers its newcomer locally before it hears of a's.
    CountDownLatch stalled = rig.stall(b);
    try (WsClient onB = Clients.device(b, "dev-1");
        WsClient onA = Clients.device(a, "dev-1")) {
      await()
          .atMost(ClusterRig.SYNC)
          .until(() -> ClusterRig.nodeId(a).equals(rig.ownerNodes().get("dev-1")));
      ClusterRig.resume(stalled);

      // a claimed dev-1 first in Redis: b gives its socket up, and mirrors a's.
      assertThat(onB.awaitClose()).isEqualTo(CloseCodes.TAKEN_OVER);
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () ->
                  assertThat(ClusterRig.cluster(b).nodeOfClient("dev-1"))
                      .contains(ClusterRig.nodeId(a)));
      assertThat(onA.isClosed()).isFalse();
      assertThat(ClusterRig.holdsLocally(a, "dev-1")).isTrue();
      assertThat(rig.ownerNodes()).containsEntry("dev-1", ClusterRig.nodeId(a));
      assertThat(ClusterRig.cluster(b).localClientIds()).doesNotContain("dev-1");
      Clients.assertCountersMatchContents(a.server().registry());
      Clients.assertCountersMatchContents(b.server().registry());
    }
  }

  @Test
  void takeoverOnAnotherNodeClosesTheOldSocketWith4000AndTheNewHolderGetsTheTraffic() {
    TestHub a = rig.node("a", c -> c.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
    TestHub b = rig.node("b", c -> c.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
    String nodeA = ClusterRig.nodeId(a);
    String nodeB = ClusterRig.nodeId(b);
    try (WsClient old = Clients.device(a, "dev-1");
        WsClient ownerA = Clients.constellation(a, "gal-a");
        WsClient ownerB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-1", "gal-a", "gal-b");
      // A session runs on the old socket when the takeover comes.
      Clients.startTask(ownerB, "gal-b", "dev-1", "s-old");
      assertThat(Clients.takeTasks(old, 1)).containsExactly("s-old");

      try (WsClient fresh = Clients.device(b, "dev-1")) {
        assertThat(old.awaitClose()).isEqualTo(CloseCodes.TAKEN_OVER);
        // The old socket's session cannot finish on the new one (it never saw the task): its
        // owner is told once.
        ServerMessage lost = ownerB.next();
        assertThat(lost.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(lost.sessionId()).isEqualTo("s-old");
        assertThat(lost.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(lost.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);

        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () -> {
                  assertThat(rig.ownerNodes()).containsEntry("dev-1", nodeB);
                  assertThat(ClusterRig.cluster(a).nodeOfClient("dev-1")).contains(nodeB);
                  assertThat(ClusterRig.holdsLocally(b, "dev-1")).isTrue();
                });

        // The new holder gets traffic from both nodes.
        Clients.startTask(ownerA, "gal-a", "dev-1", "s-from-a");
        assertThat(Clients.takeTasks(fresh, 1)).containsExactly("s-from-a");
        fresh.send(ClientFrames.taskEnd("dev-1", "s-from-a", "{\"by\":\"fresh\"}"));
        ServerMessage endA = ownerA.next();
        assertThat(endA.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(endA.result()).isEqualTo(Map.of("by", "fresh"));

        Clients.startTask(ownerB, "gal-b", "dev-1", "s-from-b");
        assertThat(Clients.takeTasks(fresh, 1)).containsExactly("s-from-b");
        fresh.send(ClientFrames.taskEnd("dev-1", "s-from-b", "{\"by\":\"fresh\"}"));
        assertThat(ownerB.next().status()).isEqualTo(TaskStatus.COMPLETED);
        ownerA.expectNothing(QUIET);
        ownerB.expectNothing(QUIET);

        // Both nodes count dev-1 on b now, and nowhere else.
        Map<String, Object> expected =
            Map.of(
                nodeA, Map.of("devices", 0, "constellations", 1),
                nodeB, Map.of("devices", 1, "constellations", 1));
        for (TestHub h : List.of(a, b)) {
          await()
              .atMost(ClusterRig.SYNC)
              .untilAsserted(
                  () -> {
                    Map<String, Object> stats = new HubHttp(h).get("/api/stats").ok(200);
                    @SuppressWarnings("unchecked")
                    Map<String, Object> cluster = (Map<String, Object>) stats.get("cluster");
                    assertThat(cluster.get("nodes"))
                        .as("on %s", ClusterRig.nodeId(h))
                        .isEqualTo(expected);
                  });
          Clients.assertCountersMatchContents(h.server().registry());
        }
      }
    }
  }

  private static String infoResponse(String device, String systemInfoJson) {
    return "{\"type\":\"device_info_response\",\"status\":\"ok\",\"client_type\":\"device\","
        + "\"client_id\":\""
        + device
        + "\",\"metadata\":{\"system_info\":"
        + systemInfoJson
        + "}}";
  }

  @Test
  void aLateDeviceInfoRefreshOnTheOldNodeDoesNotTakeBackAnIdTakenOverElsewhere() {
    TestHub a = rig.node("a", c -> c.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
    TestHub b = rig.node("b", c -> c.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
    String nodeB = ClusterRig.nodeId(b);
    try (WsClient old = Clients.device(a, "dev-1")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-1");
      String claimOfA = rig.owners().get("dev-1");

      // The device refreshes its info on a while a's cluster side is busy: the refresh waits
      // there, and the id is taken over on b before a gets to it.
      CountDownLatch busy = rig.stall(a);
      old.send(infoResponse("dev-1", "{\"device_id\":\"dev-1\",\"cpu\":8}"));
      await()
          .atMost(ClusterRig.SYNC)
          .until(
              () ->
                  a.server()
                      .registry()
                      .getDeviceSystemInfo("dev-1")
                      .map(i -> i.containsKey("cpu"))
                      .orElse(false));
      try (WsClient fresh = Clients.device(b, "dev-1")) {
        await().atMost(ClusterRig.SYNC).until(() -> nodeB.equals(rig.ownerNodes().get("dev-1")));
        ClusterRig.resume(busy);

        // a gives the id up; its late refresh changes nothing in Redis and nothing on b.
        assertThat(old.awaitClose()).isEqualTo(CloseCodes.TAKEN_OVER);
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () -> assertThat(ClusterRig.cluster(a).nodeOfClient("dev-1")).contains(nodeB));
        fresh.expectNothing(QUIET);
        assertThat(fresh.isClosed()).as("the new holder keeps its socket").isFalse();
        assertThat(rig.ownerNodes()).containsEntry("dev-1", nodeB);
        assertThat(rig.owners().get("dev-1")).isNotEqualTo(claimOfA);
        assertThat(rig.redis().hget("hub:clients", "dev-1")).doesNotContain("cpu");
        assertThat(ClusterRig.holdsLocally(b, "dev-1")).isTrue();
        assertThat(b.server().registry().getDeviceSystemInfo("dev-1").orElseThrow())
            .doesNotContainKey("cpu");
      }
    }
  }
}
