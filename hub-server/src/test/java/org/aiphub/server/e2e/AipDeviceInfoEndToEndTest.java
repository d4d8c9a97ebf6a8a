package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.e2e.AipHarness.QUIET;
import static org.aiphub.server.e2e.AipHarness.assertAlive;
import static org.aiphub.server.e2e.AipHarness.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code device_info_request} (constellation) and {@code device_info_response} (device) rows of
 * docs/PROTOCOL.md, "Messages the hub handles". The merge with the device config at registration is
 * in {@link AipHandshakeEndToEndTest}.
 */
class AipDeviceInfoEndToEndTest {
  private static final String DEVICE = "device_windows_001";
  private static final String CONSTELLATION = "weekly_report@device_windows_001";

  private AipHarness h;

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  private AipHarness hub() {
    if (h == null) {
      h = AipHarness.start();
    }
    return h;
  }

  private static ServerMessage assertInfoError(ServerMessage m, String requestId, String phrase) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
    assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(m.responseId()).isEqualTo(requestId);
    assertThat(m.error()).contains(phrase);
    assertThat(m.result()).isNull();
    return m;
  }

  @Test
  void unscopedConstellationGetsAnyConnectedDevicesInfo() {
    hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.infoRequest("galaxy-1", "dev-1", "req-1").text());
    ServerMessage reply = constellation.next();
    assertThat(reply.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
    assertThat(reply.status()).isEqualTo(TaskStatus.OK);
    assertThat(reply.responseId()).isEqualTo("req-1");
    assertThat(AipFrames.treeOf(reply.result()))
        .isEqualTo(
            AipFrames.tree(
                "{\"device_id\":\"dev-1\",\"platform\":\"windows\","
                    + "\"supported_features\":[\"gui\",\"cli\"],\"custom_metadata\":{}}"));
  }

  @Test
  void scopedConstellationAskingAboutAnotherDeviceIsRefused() {
    WsClient a = hub().device("dev-a");
    hub().device("dev-b");
    WsClient constellation = hub().constellation("galaxy-1", "dev-a");
    constellation.send(AipFrames.infoRequest("galaxy-1", "dev-b", "req-7").text());
    assertInfoError(
        constellation.next(), "req-7", "registered for device 'dev-a' and may only ask about it");
    a.expectNothing(QUIET);

    // its own target is fine, with or without naming it
    constellation.send(AipFrames.infoRequest("galaxy-1", "dev-a", "req-8").text());
    ServerMessage ok = constellation.next();
    assertThat(ok.status()).isEqualTo(TaskStatus.OK);
    assertThat(ok.responseId()).isEqualTo("req-8");
    constellation.send(AipFrames.infoRequest("galaxy-1", null, "req-9").text());
    ServerMessage implicit = constellation.next();
    assertThat(implicit.status()).isEqualTo(TaskStatus.OK);
    assertThat(implicit.responseId()).isEqualTo("req-9");
    assertThat(AipFrames.treeOf(implicit.result()).get("device_id").asText()).isEqualTo("dev-a");
  }

  @Test
  void unknownDeviceIsAnErrorResponse() {
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.infoRequest("galaxy-1", "dev-nobody", "req-1").text());
    assertInfoError(constellation.next(), "req-1", "device 'dev-nobody' is not connected");
    assertAlive(constellation, "galaxy-1", "constellation");
  }

  @Test
  void constellationIsNotADevice() {
    hub().constellation("galaxy-2", null);
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.infoRequest("galaxy-1", "galaxy-2", "req-1").text());
    assertInfoError(constellation.next(), "req-1", "device 'galaxy-2' is not connected");
  }

  @Test
  void requestWithoutAnyTargetIsAnErrorResponse() {
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.infoRequest("galaxy-1", null, "req-1").text());
    assertInfoError(constellation.next(), "req-1", "needs a target_id");
  }

  @Test
  void deviceMayNotRequestDeviceInfo() {
    WsClient asker = hub().device("dev-1");
    WsClient other = hub().device("dev-2");
    asker.send(
        AipFrames.frame("device_info_request", "ok", "device", "dev-1")
            .set("target_id", "dev-2")
            .set("request_id", "req-1")
            .text());
    ServerMessage err = assertError(asker.next(), "only constellations may request device info");
    assertThat(err.result()).isNull();
    other.expectNothing(QUIET);
    assertAlive(asker, "dev-1", "device");
  }

  @Test
  void deviceInfoResponseRefreshesTheCachedInfoMergedWithConfig(@TempDir Path dir) {
    Path config = Fixtures.copy("device_config.yaml", dir);
    h = AipHarness.start(b -> b.set(DEVICE_CONFIG, config));
    WsClient device = hub().registered(Fixtures.text("client-register-device.json"));
    WsClient constellation = hub().registered(Fixtures.text("client-register-constellation.json"));

    device.send(
        AipFrames.infoResponse(
                DEVICE,
                "{\"device_id\":\"device_windows_001\",\"os_version\":\"11.0.26100\","
                    + "\"supported_features\":[\"gui\",\"browser\"],"
                    + "\"custom_metadata\":{\"owner\":\"ops\"}}")
            .text());
    // the hub does not answer a response; the next frame is the heartbeat ack
    assertAlive(device, DEVICE, "device");

    Map<String, Object> cached = hub().registry().getDeviceSystemInfo(DEVICE).orElseThrow();
    assertThat(cached).containsEntry("os_version", "11.0.26100").doesNotContainKey("hostname");

    constellation.send(AipFrames.infoRequest(CONSTELLATION, DEVICE, "info-2").text());
    ServerMessage reply = constellation.next();
    assertThat(reply.status()).isEqualTo(TaskStatus.OK);
    assertThat(reply.responseId()).isEqualTo("info-2");
    JsonNode info = AipFrames.treeOf(reply.result());
    assertThat(info.get("os_version").asText()).isEqualTo("11.0.26100");
    assertThat(info.has("hostname")).isFalse();
    assertThat(AipHandshakeEndToEndTest.features(info))
        .isEqualTo(Set.of("gui", "browser", "excel_automation", "pdf_generation"));
    assertThat(info.get("tags"))
        .isEqualTo(AipFrames.tree("[\"production\",\"office\",\"high_priority\"]"));
    JsonNode custom = info.get("custom_metadata");
    assertThat(custom.get("owner").asText()).isEqualTo("ops");
    assertThat(custom.get("tier").asText()).isEqualTo("high_performance");
    assertThat(custom.get("max_concurrent_tasks").asInt()).isEqualTo(5);
  }

  @Test
  void deviceInfoResponseWithoutSystemInfoIsRefusedAndChangesNothing() {
    WsClient device = hub().device("dev-1");
    Map<String, Object> before = hub().registry().getDeviceSystemInfo("dev-1").orElseThrow();
    device.send(
        AipFrames.frame("device_info_response", "ok", "device", "dev-1")
            .json("metadata", "{\"system_info\":\"new\"}")
            .text());
    assertError(device.next(), "needs metadata.system_info as an object");
    device.send(AipFrames.frame("device_info_response", "ok", "device", "dev-1").text());
    assertError(device.next(), "needs metadata.system_info as an object");
    assertThat(hub().registry().getDeviceSystemInfo("dev-1")).contains(before);
  }

  @Test
  void constellationMayNotReportDeviceInfo() {
    hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");
    Map<String, Object> before = hub().registry().getDeviceSystemInfo("dev-1").orElseThrow();
    constellation.send(
        AipFrames.frame("device_info_response", "ok", "constellation", "galaxy-1")
            .set("target_id", "dev-1")
            .json("metadata", "{\"system_info\":{\"device_id\":\"dev-1\",\"forged\":true}}")
            .text());
    assertError(constellation.next(), "only devices report device info");
    assertThat(hub().registry().getDeviceSystemInfo("dev-1")).contains(before);
    assertThat(hub().registry().getDeviceSystemInfo("galaxy-1")).isEmpty();
  }
}
