package org.aiphub.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.DashboardFeed;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard of one node follows the other node's clients live: a mirrored client's join and its
 * description changes reach the registry without a router event, so the cluster tells the dashboard
 * itself.
 */
class ClusterDashboardTest {
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

  @Test
  void aDeviceJoiningAndRefreshingOnAnotherNodeShowsLiveOnThisNodesFeed() {
    try (DashboardFeed feedB = DashboardFeed.open(b)) {
      assertThat(DashboardFeed.clientRow(feedB.snapshot(), "dev-a")).isNull();

      try (WsClient devA = Clients.device(a, "dev-a")) {
        JsonNode row = feedB.client("dev-a", r -> true, ClusterRig.SYNC);
        assertThat(row.path("node").asText()).isEqualTo(ClusterRig.nodeId(a));
        assertThat(row.path("platform").asText()).isNotBlank();

        // A description change on A (its info refresh) shows on B's feed too.
        devA.send(
            "{\"type\":\"device_info_response\",\"status\":\"ok\",\"client_type\":\"device\","
                + "\"client_id\":\"dev-a\",\"metadata\":{\"system_info\":{\"device_id\":\"dev-a\","
                + "\"platform\":\"linux\",\"supported_features\":[\"gpu-render\"]}}}");
        JsonNode refreshed =
            feedB.client(
                "dev-a",
                r -> r.path("features").toString().contains("gpu-render"),
                ClusterRig.SYNC);
        assertThat(refreshed.path("platform").asText()).isEqualTo("linux");
      }
    }
  }
}
