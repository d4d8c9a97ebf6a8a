package org.aiphub.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
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
 * Work across two nodes: round trips in both directions, heartbeats and device info for remote
 * devices, HTTP dispatch to a device on another node, and departures seen from the other node.
 */
class ClusterCrossNodeTest {
  private ClusterRig rig;
  private TestHub a;
  private TestHub b;

  @BeforeEach
  void start() {
    rig = ClusterRig.start();
    a = rig.node("a");
    b = rig.node("b");
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  private static String constellationHeartbeat(String id) {
    return "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_type\":\"constellation\","
        + "\"client_id\":\""
        + id
        + "\"}";
  }

  private static String infoRequest(String constellation, String device, String requestId) {
    return "{\"type\":\"device_info_request\",\"status\":\"ok\",\"client_type\":\"constellation\","
        + "\"client_id\":\""
        + constellation
        + "\",\"target_id\":\""
        + device
        + "\",\"request_id\":\""
        + requestId
        + "\"}";
  }

  private static String infoResponse(String device, String systemInfoJson) {
    return "{\"type\":\"device_info_response\",\"status\":\"ok\",\"client_type\":\"device\","
        + "\"client_id\":\""
        + device
        + "\",\"metadata\":{\"system_info\":"
        + systemInfoJson
        + "}}";
  }

  /** One task from {@code owner} to {@code device} and back, the device on the other node. */
  private static void roundTrip(
      WsClient owner, String ownerId, WsClient device, String deviceId, String sessionId) {
    Clients.startTask(owner, ownerId, deviceId, sessionId, "run " + sessionId);
    ServerMessage task = device.next();
    assertThat(task.type()).as("%s", task).isEqualTo(ServerMessageType.TASK);
    assertThat(task.sessionId()).isEqualTo(sessionId);
    assertThat(task.userRequest()).isEqualTo("run " + sessionId);
    device.send(ClientFrames.taskEnd(deviceId, sessionId, "{\"by\":\"" + deviceId + "\",\"n\":7}"));
    ServerMessage end = owner.next();
    assertThat(end.type()).as("%s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.sessionId()).isEqualTo(sessionId);
    assertThat(end.result()).isEqualTo(Map.of("by", deviceId, "n", 7));
  }

  /**
   * Galaxy reuses a finished session id from another constellation for another device: across nodes
   * too, whichever nodes the owners and devices are on. Each node keeps its own record of every run
   * it took part in.
   */
  @Test
  void aFinishedSessionIdIsReusedByAnotherConstellationAcrossNodes() {
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galA = Clients.constellation(a, "tn@dev-b");
        WsClient devB = Clients.device(b, "dev-b");
        WsClient galB = Clients.constellation(b, "tn@dev-a")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "tn@dev-b", "dev-b", "tn@dev-a");

      roundTrip(galA, "tn@dev-b", devB, "dev-b", "tn@t1"); // owner on a, device on b
      roundTrip(galB, "tn@dev-a", devB, "dev-b", "tn@t1"); // b ran the first run for a's owner
      roundTrip(galB, "tn@dev-a", devA, "dev-a", "tn@t1"); // owner on b, device on a
      roundTrip(galA, "tn@dev-b", devA, "dev-a", "tn@t1"); // a ran the last run for b's owner

      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                assertThat(a.server().sessions().runs("tn@t1", 10))
                    .extracting(s -> s.ownerId() + ">" + s.executorId())
                    .containsExactly("tn@dev-b>dev-a", "tn@dev-a>dev-a", "tn@dev-b>dev-b");
                assertThat(b.server().sessions().runs("tn@t1", 10))
                    .extracting(s -> s.ownerId() + ">" + s.executorId())
                    .containsExactly("tn@dev-a>dev-a", "tn@dev-a>dev-b", "tn@dev-b>dev-b");
              });
      for (TestHub node : List.of(a, b)) {
        assertThat(node.server().sessions().counts().running()).isZero();
        assertThat(node.server().registry().getStats().runningSessions()).isZero();
      }
      galA.expectNothing(Duration.ofMillis(200));
      galB.expectNothing(Duration.ofMillis(200));
    }
  }

  @Test
  void tasksCrossInBothDirectionsAndHeartbeatsAndDeviceInfoWorkForRemoteDevices() {
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient galA = Clients.constellation(a, "gal-a");
        WsClient devB = Clients.device(b, "dev-b");
        WsClient galB = Clients.constellation(b, "gal-b")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-a", "dev-b", "gal-b");
      assertThat(ClusterRig.holdsLocally(a, "dev-b")).as("dev-b is mirrored on a").isFalse();
      assertThat(ClusterRig.cluster(a).nodeOfClient("dev-b")).contains(ClusterRig.nodeId(b));

      roundTrip(galB, "gal-b", devA, "dev-a", "s-b-to-a");
      roundTrip(galA, "gal-a", devB, "dev-b", "s-a-to-b");
      roundTrip(galB, "gal-b", devA, "dev-a", "s-b-to-a-again");

      // Heartbeats are answered by the node holding the socket, for every kind of client.
      devA.send(ClientFrames.heartbeat("dev-a"));
      assertThat(devA.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
      galB.send(constellationHeartbeat("gal-b"));
      ServerMessage beat = galB.next();
      assertThat(beat.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(beat.status()).isEqualTo(TaskStatus.OK);

      // Device info of a remote device comes from the mirror, under the request's id.
      galB.send(infoRequest("gal-b", "dev-a", "info-1"));
      ServerMessage info = galB.next();
      assertThat(info.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
      assertThat(info.status()).isEqualTo(TaskStatus.OK);
      assertThat(info.responseId()).isEqualTo("info-1");
      assertThat(info.result()).isEqualTo(Map.of("device_id", "dev-a", "platform", "linux"));

      // A refresh on the device's node reaches the other node's mirror.
      devA.send(
          infoResponse("dev-a", "{\"device_id\":\"dev-a\",\"platform\":\"linux\",\"cpu\":16}"));
      int[] n = {0};
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () -> {
                String rid = "info-refresh-" + n[0]++;
                galB.send(infoRequest("gal-b", "dev-a", rid));
                ServerMessage r = galB.next();
                assertThat(r.responseId()).isEqualTo(rid);
                assertThat(r.result())
                    .isEqualTo(Map.of("device_id", "dev-a", "platform", "linux", "cpu", 16));
              });

      // Unknown devices get the error form, also on a clustered node.
      galB.send(infoRequest("gal-b", "dev-nowhere", "info-2"));
      ServerMessage unknown = galB.next();
      assertThat(unknown.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
      assertThat(unknown.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(unknown.responseId()).isEqualTo("info-2");
      assertThat(unknown.error()).contains("dev-nowhere");

      devA.expectNothing(java.time.Duration.ofMillis(200));
      for (TestHub h : List.of(a, b)) {
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(() -> assertThat(h.server().sessions().counts().running()).isZero());
        Clients.assertNoMappingsAndConsistent(h.server().registry());
      }
    }
  }

  @Test
  void httpDispatchOnOneNodeReachesADeviceOnTheOtherAndItsResultIsReadThere() {
    try (WsClient devA = Clients.device(a, "dev-a")) {
      ClusterRig.awaitEverywhere(List.of(b), "dev-a");
      HubHttp http = new HubHttp(b);

      Map<String, Object> sent =
          http.post(
                  "/api/dispatch",
                  Map.of("client_id", "dev-a", "request", "print report", "task_name", "report-7"))
              .ok(200);
      assertThat(sent).containsEntry("status", "dispatched").containsEntry("client_id", "dev-a");
      ServerMessage task = devA.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.sessionId()).isEqualTo(sent.get("session_id"));
      assertThat(task.userRequest()).isEqualTo("print report");
      assertThat(http.get("/api/task_result/report-7").ok(200)).containsEntry("status", "pending");

      devA.send(ClientFrames.taskEnd("dev-a", task.sessionId(), "{\"pages\":3}"));
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(
              () ->
                  assertThat(http.get("/api/task_result/report-7").ok(200))
                      .containsEntry("status", "done")
                      .containsEntry("state", "completed")
                      .containsEntry("result", Map.of("pages", 3))
                      .containsEntry("session_id", task.sessionId()));

      // Dispatch to a device nobody holds is still a 404 on a clustered node.
      assertThat(
              http.post("/api/dispatch", Map.of("client_id", "dev-none", "request", "x"))
                  .error(404))
          .contains("dev-none");
    }
  }

  @Test
  void departuresOnOneNodeEndTheSessionsOfTheOther() {
    WsClient galB = Clients.constellation(b, "gal-b");
    try (WsClient devA = Clients.device(a, "dev-a");
        WsClient devA2 = Clients.device(a, "dev-a2")) {
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "dev-a2", "gal-b");

      // The device leaves mid-task: its owner on the other node is told device_disconnected.
      Clients.startTask(galB, "gal-b", "dev-a", "s-1");
      assertThat(Clients.takeTasks(devA, 1)).containsExactly("s-1");
      devA.abort();
      ServerMessage failed = galB.next();
      assertThat(failed.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(failed.sessionId()).isEqualTo("s-1");
      assertThat(failed.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
      ClusterRig.awaitGoneEverywhere(List.of(a, b), "dev-a");
      assertThat(rig.owners()).doesNotContainKey("dev-a");

      // A task for it now is refused at once, as on one node.
      galB.send(ClientFrames.task("gal-b", "dev-a", "s-2", "too late"));
      ServerMessage refused = galB.next();
      assertThat(refused.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(refused.sessionId()).isEqualTo("s-2");
      assertThat(refused.error()).contains("not connected");
      ServerMessage refusedEnd = galB.next(); // and ends at once for its sender
      assertThat(refusedEnd.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(refusedEnd.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(refusedEnd.sessionId()).isEqualTo("s-2");
      assertThat(refusedEnd.error()).isEqualTo(refused.error());

      // The owner leaves mid-task: the device on the other node is told to stop.
      Clients.startTask(galB, "gal-b", "dev-a2", "s-3");
      assertThat(Clients.takeTasks(devA2, 1)).containsExactly("s-3");
      galB.close();
      ServerMessage cancel = devA2.next();
      assertThat(cancel.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(cancel.sessionId()).isEqualTo("s-3");
      assertThat(cancel.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
      devA2.expectNothing(Duration.ofMillis(300));
      ClusterRig.awaitGoneEverywhere(List.of(a, b), "gal-b");
      for (TestHub h : List.of(a, b)) {
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(() -> assertThat(h.server().sessions().counts().running()).isZero());
        Clients.assertNoMappingsAndConsistent(h.server().registry());
      }
      // The owner's node holds s-3's outcome for it, as one node would; the device's node none.
      assertThat(b.server().sessions().counts().held()).isEqualTo(1);
      assertThat(a.server().sessions().counts().held()).isZero();
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(() -> assertThat(rig.redis().hlen("hub:sessions")).isZero());
    } finally {
      galB.close();
    }
  }

  @Test
  void aConstellationThatComesBackOnTheOtherNodeGetsTheOutcomesHeldForIt() {
    try (WsClient devB = Clients.device(b, "dev-b")) {
      WsClient first = Clients.constellation(a, "gal-x");
      try {
        ClusterRig.awaitEverywhere(List.of(a, b), "gal-x", "dev-b");
        Clients.startTask(first, "gal-x", "dev-b", "s-away");
        assertThat(Clients.takeTasks(devB, 1)).containsExactly("s-away");
      } finally {
        first.close();
      }
      ServerMessage stop = devB.next();
      assertThat(stop.sessionId()).isEqualTo("s-away");
      assertThat(stop.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
      ClusterRig.awaitGoneEverywhere(List.of(a, b), "gal-x");
      assertThat(a.server().sessions().counts().held()).as("held on the owner's node").isEqualTo(1);

      // It registers again, on the other node: the outcome held for it follows it there.
      try (WsClient again = Clients.constellation(b, "gal-x")) {
        ServerMessage held = again.next();
        assertThat(held.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(held.sessionId()).isEqualTo("s-away");
        assertThat(held.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(held.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
        again.expectNothing(Duration.ofMillis(300));
        assertThat(a.server().sessions().counts().held()).isZero();
        assertThat(b.server().sessions().counts().held()).isZero();
      }
    }
  }
}
