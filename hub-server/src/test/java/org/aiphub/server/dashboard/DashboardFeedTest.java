package org.aiphub.server.dashboard;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.DashboardFeed;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live feed of a real hub, read over HTTP like the page reads it: changes that come from
 * outside the router (a device config reload) must reach it too.
 */
class DashboardFeedTest {
  private static final String DEVICE = "device_windows_001";
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;

  @Test
  void aDeviceConfigReloadShowsOnTheDevicesRowLive() throws Exception {
    Path cfg = Fixtures.copy("device_config.yaml", dir);
    try (TestHub hub = TestHub.start(b -> b.set(DEVICE_CONFIG, cfg));
        WsClient device = hub.connect()) {
      device.send(Fixtures.text("client-register-device.json"));
      Clients.assertRegistered(device.next());
      try (DashboardFeed feed = DashboardFeed.open(hub)) {
        JsonNode before = DashboardFeed.clientRow(feed.snapshot(), DEVICE);
        assertThat(texts(before.get("tags")))
            .containsExactly("production", "office", "high_priority");
        assertThat(before.get("tier").asText()).isEqualTo("high_performance");
        assertThat(before.get("limit").asInt()).isEqualTo(5);

        Files.writeString(
            cfg,
            Files.readString(cfg)
                .replace("tier: \"high_performance\"", "tier: \"gold\"")
                .replace("[\"production\", \"office\", \"high_priority\"]", "[\"staging\"]")
                .replace("\"pdf_generation\"]", "\"pdf_generation\", \"ocr\"]")
                .replace("max_concurrent_tasks: 5", "max_concurrent_tasks: 1"));
        new HubHttp(hub).post("/api/admin/reload-devices", "").ok(200);

        JsonNode after = feed.client(DEVICE, r -> texts(r.get("tags")).contains("staging"), WAIT);
        assertThat(texts(after.get("tags"))).containsExactly("staging");
        assertThat(after.get("tier").asText()).isEqualTo("gold");
        assertThat(texts(after.get("features"))).contains("ocr");
        assertThat(after.get("limit").asInt()).isEqualTo(1);
      }
    }
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
