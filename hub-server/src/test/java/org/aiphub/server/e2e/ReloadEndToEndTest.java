package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, device config reload: {@code POST /api/admin/reload-devices} re-reads the file and
 * re-merges online devices; a bad file leaves the old config in force and says why; without a
 * device config the route is a 400.
 */
class ReloadEndToEndTest {
  private static final String DEVICE = "device_windows_001";

  @TempDir Path dir;

  @SuppressWarnings("unchecked")
  private static Map<String, Object> systemInfo(HubHttp http, String id) {
    return (Map<String, Object>) http.get("/api/devices/" + id).ok(200).get("system_info");
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    return (List<Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> custom(Map<String, Object> systemInfo) {
    return (Map<String, Object>) systemInfo.get("custom_metadata");
  }

  @Test
  void reloadRemergesTheSystemInfoOfOnlineDevices() throws Exception {
    Path cfg = Fixtures.copy("device_config.yaml", dir);
    try (TestHub hub = TestHub.start(b -> b.set(DEVICE_CONFIG, cfg));
        WsClient device = hub.connect()) {
      HubHttp http = new HubHttp(hub);
      device.send(Fixtures.text("client-register-device.json"));
      Clients.assertRegistered(device.next());

      Map<String, Object> before = systemInfo(http, DEVICE);
      assertThat(before.get("tags")).isEqualTo(List.of("production", "office", "high_priority"));
      assertThat(custom(before)).containsEntry("tier", "high_performance");
      assertThat(list(before.get("supported_features"))).contains("excel_automation");
      assertThat(http.get("/api/devices/" + DEVICE).ok(200))
          .containsEntry("max_concurrent_tasks", 5);

      String edited =
          Files.readString(cfg)
              .replace("tier: \"high_performance\"", "tier: \"gold\"\n    region: \"eu-west\"")
              .replace("[\"production\", \"office\", \"high_priority\"]", "[\"staging\"]")
              .replace("\"pdf_generation\"]", "\"pdf_generation\", \"ocr\"]")
              .replace("max_concurrent_tasks: 5", "max_concurrent_tasks: 1");
      assertThat(edited).isNotEqualTo(Files.readString(cfg));
      Files.writeString(cfg, edited);

      Map<String, Object> r = http.post("/api/admin/reload-devices", "").ok(200);
      assertThat(r)
          .containsEntry("status", "reloaded")
          .containsEntry("source", cfg.toString())
          .containsEntry("devices", 2)
          .containsEntry("remerged_online_devices", 1);

      Map<String, Object> after = systemInfo(http, DEVICE);
      assertThat(after.get("tags")).isEqualTo(List.of("staging"));
      assertThat(custom(after))
          .containsEntry("tier", "gold")
          .containsEntry("region", "eu-west")
          .containsEntry("tags", List.of("staging"))
          .containsEntry("max_concurrent_tasks", 1);
      assertThat(list(after.get("supported_features")))
          .contains("gui", "excel_automation", "pdf_generation", "ocr");
      // what the device reported is kept under the new config
      assertThat(after)
          .containsEntry("hostname", "WIN-OFFICE-01")
          .containsEntry("os_version", "10.0.22631");
      assertThat(http.get("/api/devices/" + DEVICE).ok(200))
          .containsEntry("max_concurrent_tasks", 1);
      assertThat(hub.server().registry().getClientInfo(DEVICE).orElseThrow().tags())
          .containsExactly("staging");
    }
  }

  @Test
  void aBrokenFileIs500WithAReasonAndTheOldConfigStaysInForce() throws Exception {
    Path cfg = Fixtures.copy("device_config.yaml", dir);
    String good = Files.readString(cfg);
    try (TestHub hub = TestHub.start(b -> b.set(DEVICE_CONFIG, cfg));
        WsClient device = hub.connect()) {
      HubHttp http = new HubHttp(hub);
      device.send(Fixtures.text("client-register-device.json"));
      Clients.assertRegistered(device.next());
      Map<String, Object> before = systemInfo(http, DEVICE);

      Map<String, String> broken =
          Map.of(
              "devices:\n  device_windows_001: [unclosed\n", "invalid YAML",
              "devices:\n  device_windows_001:\n    max_concurrent_tasks: -1\n",
                  "max_concurrent_tasks",
              "devices:\n  device_windows_001:\n    tags: \"not-a-list\"\n", "tags",
              "hosts:\n  a: {}\n", "devices",
              "", "empty");
      for (Map.Entry<String, String> b : broken.entrySet()) {
        Files.writeString(cfg, b.getKey());
        String error = http.post("/api/admin/reload-devices", "").error(500);
        assertThat(error)
            .as("file %s", b.getKey())
            .contains("previous device config stays in force")
            .contains(cfg.toString())
            .contains(b.getValue());
        assertThat(systemInfo(http, DEVICE)).as("after %s", b.getKey()).isEqualTo(before);
      }
      Files.delete(cfg);
      assertThat(http.post("/api/admin/reload-devices", "").error(500)).contains("not found");
      assertThat(systemInfo(http, DEVICE)).isEqualTo(before);

      // A device registering now still merges the old config.
      try (WsClient linux = hub.connect()) {
        linux.send(JsonFrames.registerDevice("device_linux_001", "linux", List.of("cli")));
        Clients.assertRegistered(linux.next());
        Map<String, Object> si = systemInfo(http, "device_linux_001");
        assertThat(si.get("tags")).isEqualTo(List.of("development", "testing"));
        assertThat(custom(si)).containsEntry("tier", "standard");
        assertThat(list(si.get("supported_features"))).containsExactly("cli", "docker_support");
      }

      // Fixed again: the reload works.
      Files.writeString(cfg, good.replace("tier: \"high_performance\"", "tier: \"fixed\""));
      assertThat(http.post("/api/admin/reload-devices", "").ok(200))
          .containsEntry("status", "reloaded");
      assertThat(custom(systemInfo(http, DEVICE))).containsEntry("tier", "fixed");
    }
  }

  @Test
  void withoutADeviceConfigReloadIs400() {
    try (TestHub hub = TestHub.start()) {
      HubHttp http = new HubHttp(hub);
      assertThat(http.post("/api/admin/reload-devices", "").error(400)).contains("device_config");
      assertThat(hub.server().reloader().configured()).isFalse();
    }
  }
}
