package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP API of any node shows the whole cluster; {@code /metrics} stays per node. */
class ClusterHttpApiTest {

  private static String registerDevice(String id, String platform) {
    return "{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\""
        + id
        + "\",\"metadata\":{\"platform\":\""
        + platform
        + "\",\"system_info\":{\"device_id\":\""
        + id
        + "\",\"platform\":\""
        + platform
        + "\",\"supported_features\":[\"gui\"]}}}";
  }

  private static WsClient device(TestHub hub, String id, String platform) {
    WsClient c = hub.connect();
    c.send(registerDevice(id, platform));
    Clients.assertRegistered(c.next());
    return c;
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyNodeAnswersForTheWholeClusterButCountsItsOwnMetrics() {
    try (ClusterRig rig = ClusterRig.start()) {
      TestHub a = rig.node("a");
      TestHub b = rig.node("b");
      TestHub c = rig.node("c");
      String nodeA = ClusterRig.nodeId(a);
      String nodeB = ClusterRig.nodeId(b);
      String nodeC = ClusterRig.nodeId(c);
      List<WsClient> clients = new ArrayList<>();
      try {
        clients.add(device(a, "win-1", "windows"));
        clients.add(device(a, "lin-1", "linux"));
        clients.add(Clients.constellation(a, "gal-1"));
        clients.add(device(b, "lin-2", "linux"));
        clients.add(device(b, "mac-1", "macos"));
        clients.add(Clients.constellation(b, "gal-2"));
        clients.add(Clients.constellation(b, "gal-3"));
        List<String> all = List.of("gal-1", "gal-2", "gal-3", "lin-1", "lin-2", "mac-1", "win-1");
        List<TestHub> nodes = List.of(a, b, c);
        ClusterRig.awaitEverywhere(nodes, all.toArray(new String[0]));
        Map<String, Object> perNode =
            Map.of(
                nodeA, Map.of("devices", 2, "constellations", 1),
                nodeB, Map.of("devices", 2, "constellations", 2),
                nodeC, Map.of("devices", 0, "constellations", 0));

        for (TestHub h : nodes) {
          HubHttp http = new HubHttp(h);
          String me = ClusterRig.nodeId(h);
          assertThat(http.get("/api/clients").ok(200))
              .as("clients on %s", me)
              .containsEntry("online_clients", all);
          Map<String, Object> health = http.get("/api/health").ok(200);
          assertThat(health).containsEntry("status", "healthy").containsEntry("node_id", me);
          assertThat(health.get("online_clients")).isEqualTo(all);

          Map<String, Object> devices = http.get("/api/devices").ok(200);
          assertThat(devices)
              .containsEntry("devices", List.of("lin-1", "lin-2", "mac-1", "win-1"))
              .containsEntry("count", 4)
              .containsEntry("by_platform", Map.of("linux", 2, "macos", 1, "windows", 1));

          Map<String, Object> win = http.get("/api/devices/win-1").ok(200);
          assertThat(win)
              .containsEntry("device_id", "win-1")
              .containsEntry("platform", "windows")
              .containsEntry("node", nodeA);
          assertThat((Map<String, Object>) win.get("system_info"))
              .containsEntry("supported_features", List.of("gui"));
          assertThat(http.get("/api/devices/mac-1").ok(200)).containsEntry("node", nodeB);
          assertThat(http.get("/api/devices/gal-1").error(404)).contains("gal-1");

          assertThat(http.get("/api/devices/select?platform=macos").ok(200))
              .containsEntry("device_id", "mac-1");

          await()
              .atMost(ClusterRig.SYNC)
              .untilAsserted(
                  () -> {
                    Map<String, Object> stats = http.get("/api/stats").ok(200);
                    Map<String, Object> cluster = (Map<String, Object>) stats.get("cluster");
                    assertThat(cluster)
                        .as("stats of %s", me)
                        .containsEntry("node_id", me)
                        .containsEntry("degraded", false)
                        .containsEntry("nodes", perNode);
                  });

          // /metrics counts what this node did itself: the registrations it accepted.
          List<PrometheusText.Sample> metrics = PrometheusText.parse(http.get("/metrics").body());
          Map<String, Integer> own = (Map<String, Integer>) perNode.get(me);
          assertThat(PrometheusText.value(metrics, "hub_registrations_total", "outcome", "ok"))
              .as("registrations on %s", me)
              .isEqualTo((double) (own.get("devices") + own.get("constellations")));
          assertThat(PrometheusText.value(metrics, "hub_messages_in_total", "type", "register"))
              .as("register frames on %s", me)
              .isEqualTo((double) (own.get("devices") + own.get("constellations")));
          assertThat(PrometheusText.value(metrics, "hub_cluster_degraded")).isZero();
          assertThat(PrometheusText.value(metrics, "hub_cluster_nodes")).isEqualTo(3.0);
        }
      } finally {
        clients.forEach(WsClient::close);
      }
    }
  }

  @Test
  void clusterModeIsOffByDefaultAndANodeWithoutAnIdGetsAGeneratedOne() {
    try (TestHub single = TestHub.start();
        WsClient dev = device(single, "win-1", "windows")) {
      assertThat(single.server().cluster()).isEmpty();
      HubHttp http = new HubHttp(single);
      assertThat(http.get("/api/stats").ok(200)).doesNotContainKey("cluster");
      assertThat(http.get("/api/health").ok(200)).doesNotContainKey("node_id");
      assertThat(http.get("/api/devices/win-1").ok(200)).doesNotContainKey("node");
      assertThat(http.get("/metrics").body()).doesNotContain("hub_cluster_");
      assertThat(dev.isClosed()).isFalse();
    }
    try (ClusterRig rig = ClusterRig.start()) {
      TestHub named = rig.node("named");
      TestHub anonymous = rig.node("ignored", c -> c.set(CLUSTER_NODE_ID, null));
      String generated = ClusterRig.nodeId(anonymous);
      assertThat(generated).matches("node-[0-9a-f]{8}");
      try (WsClient dev = device(anonymous, "lin-1", "linux")) {
        ClusterRig.awaitEverywhere(List.of(named), "lin-1");
        assertThat(new HubHttp(named).get("/api/devices/lin-1").ok(200))
            .containsEntry("node", generated);
        assertThat(dev.isClosed()).isFalse();
      }
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void anotherNodeShowsADeviceAsItsOwnNodeDoesAndFollowsAReloadThere(@TempDir Path dir)
      throws Exception {
    String device = "device_windows_001";
    Path cfg = Fixtures.copy("device_config.yaml", dir);
    try (ClusterRig rig = ClusterRig.start()) {
      // Only a has a device config: what b shows of a's device can only come from a.
      TestHub a = rig.node("a", c -> c.set(DEVICE_CONFIG, cfg));
      TestHub b = rig.node("b");
      try (WsClient dev = a.connect()) {
        dev.send(Fixtures.text("client-register-device.json"));
        Clients.assertRegistered(dev.next());
        ClusterRig.awaitEverywhere(List.of(b), device);
        HubHttp onA = new HubHttp(a);
        HubHttp onB = new HubHttp(b);
        Map<String, Object> atA = onA.get("/api/devices/" + device).ok(200);
        assertThat((Map<String, Object>) atA.get("system_info"))
            .as("a merged its config")
            .containsEntry("tags", List.of("production", "office", "high_priority"));

        Map<String, Object> atB = onB.get("/api/devices/" + device).ok(200);
        assertThat(atB.get("connected_at")).isEqualTo(atA.get("connected_at"));
        assertThat(atB.get("system_info")).isEqualTo(atA.get("system_info"));
        assertThat(atB.get("max_concurrent_tasks")).isEqualTo(atA.get("max_concurrent_tasks"));
        assertThat(atB).containsEntry("node", ClusterRig.nodeId(a));
        assertThat(onB.get("/api/devices").ok(200)).containsEntry("devices", List.of(device));
        // b selects by what a's config added (a feature, a tag), as a does.
        String query = "/api/devices/select?capability=excel_automation&tag=high_priority";
        assertThat(onB.get(query).ok(200)).containsEntry("device_id", device);

        // A reload on a re-merges the device there, and b's mirror follows.
        Files.writeString(
            cfg,
            Files.readString(cfg)
                .replace("[\"production\", \"office\", \"high_priority\"]", "[\"staging\"]"));
        assertThat(onA.post("/api/admin/reload-devices", "").ok(200))
            .containsEntry("remerged_online_devices", 1);
        Object reloaded = onA.get("/api/devices/" + device).ok(200).get("system_info");
        assertThat((Map<String, Object>) reloaded).containsEntry("tags", List.of("staging"));
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () ->
                    assertThat(onB.get("/api/devices/" + device).ok(200))
                        .containsEntry("system_info", reloaded)
                        .containsEntry("connected_at", atA.get("connected_at")));
        assertThat(dev.isClosed()).isFalse();
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static List<String> sessionIds(HubHttp http) {
    List<String> ids = new ArrayList<>();
    for (Object s : (List<Object>) http.get("/api/sessions").ok(200).get("sessions")) {
      ids.add((String) ((Map<String, Object>) s).get("session_id"));
    }
    return ids;
  }

  @Test
  void sessionsAreListedByTheNodesTheyRanOnNotClusterWide() {
    try (ClusterRig rig = ClusterRig.start()) {
      TestHub a = rig.node("a");
      TestHub b = rig.node("b");
      try (WsClient devA = Clients.device(a, "dev-a");
          WsClient galA = Clients.constellation(a, "gal-a");
          WsClient galB = Clients.constellation(b, "gal-b")) {
        ClusterRig.awaitEverywhere(List.of(a, b), "dev-a", "gal-a", "gal-b");
        Clients.startTask(galA, "gal-a", "dev-a", "s-local");
        Clients.startTask(galB, "gal-b", "dev-a", "s-cross");
        assertThat(Clients.takeTasks(devA, 2)).containsExactlyInAnyOrder("s-local", "s-cross");

        // a runs both (one for b's constellation); b only knows the one its constellation owns.
        HubHttp onA = new HubHttp(a);
        HubHttp onB = new HubHttp(b);
        assertThat(sessionIds(onA)).containsExactlyInAnyOrder("s-local", "s-cross");
        assertThat(sessionIds(onB)).containsExactly("s-cross");
        assertThat(onA.get("/api/sessions/s-cross").ok(200))
            .containsEntry("owner", "gal-b")
            .containsEntry("device", "dev-a");
        assertThat(onB.get("/api/sessions/s-local").error(404)).contains("s-local");
      }
    }
  }
}
