package org.aiphub.core.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.Fixtures;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.testing.FakeConnection;
import org.junit.jupiter.api.Test;

/**
 * The golden case: {@code server-device-info-response.json}'s {@code result} is what {@code
 * client-register-device.json}'s system info becomes under {@code device_config.yaml}.
 */
class GoldenMergeTest {
  private static final String DEVICE = "device_windows_001";
  private final AipCodec codec = new AipCodec();

  private static DeviceConfig fixtureConfig() throws Exception {
    URL url = GoldenMergeTest.class.getResource("/device-config/device_config.yaml");
    assertThat(url).isNotNull();
    return DeviceConfigLoader.load(Path.of(url.toURI()));
  }

  private ClientMessage registration() throws Exception {
    ClientMessage m = codec.decodeClient(Fixtures.bytes("client-register-device.json"));
    assertThat(m.type()).isEqualTo(ClientMessageType.REGISTER);
    assertThat(m.clientId()).isEqualTo(DEVICE);
    return m;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> reportedSystemInfo(ClientMessage registration) {
    return (Map<String, Object>) registration.metadata().get("system_info");
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> expected() throws Exception {
    ServerMessage m = codec.decodeServer(Fixtures.bytes("server-device-info-response.json"));
    assertThat(m.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
    return (Map<String, Object>) m.result();
  }

  /** The object with {@code supported_features} as a set: feature lists compare as sets. */
  private static Map<String, Object> featuresAsSet(Map<String, Object> info) {
    Map<String, Object> copy = new LinkedHashMap<>(info);
    Object features = copy.get("supported_features");
    assertThat(features).isInstanceOf(List.class);
    List<?> list = (List<?>) features;
    assertThat(list).doesNotHaveDuplicates();
    copy.put("supported_features", new HashSet<>(list));
    return copy;
  }

  @Test
  void loaderPlusMergerGiveTheGoldenDeviceInfo() throws Exception {
    DeviceConfig config = fixtureConfig();
    Map<String, Object> merged =
        SystemInfoMerger.merge(reportedSystemInfo(registration()), config.entry(DEVICE));

    assertThat(featuresAsSet(merged)).isEqualTo(featuresAsSet(expected()));
  }

  @Test
  void theRegistryServesTheGoldenDeviceInfoAfterRegistration() throws Exception {
    ClientRegistry registry = ClientRegistry.builder().deviceConfig(fixtureConfig()).build();
    ClientMessage reg = registration();
    FakeConnection conn = new FakeConnection("golden");
    registry.addClient(
        reg.clientId(),
        (String) reg.metadata().get("platform"),
        conn,
        reg.clientType(),
        reg.metadata());

    assertThat(reg.clientType()).isEqualTo(ClientType.DEVICE);
    Map<String, Object> served = registry.getDeviceSystemInfo(DEVICE).orElseThrow();
    assertThat(featuresAsSet(served)).isEqualTo(featuresAsSet(expected()));
    assertThat(registry.getAllDevicesInfo()).containsOnlyKeys(DEVICE);
    assertThat(registry.getClientInfo(DEVICE).orElseThrow().maxConcurrentTasks()).isEqualTo(5);
    assertThat(registry.findDevicesWithCapability("excel_automation")).containsExactly(DEVICE);
    assertThat(registry.findDevicesWithCapability("gui")).containsExactly(DEVICE);
    assertThat(registry.getDevicesByPlatform("windows")).containsExactly(DEVICE);
    assertThat(registry.selectOptimalDevice("windows", List.of("pdf_generation"), List.of()))
        .contains(DEVICE);
    assertThat(conn.sent()).isEmpty(); // the registry never sends
    assertThat(conn.closes()).isEmpty();
  }

  @Test
  void withoutTheConfigTheRegistryServesTheReportAsSent() throws Exception {
    ClientRegistry registry = ClientRegistry.builder().build();
    ClientMessage reg = registration();
    registry.addClient(
        reg.clientId(), "windows", new FakeConnection("golden"), reg.clientType(), reg.metadata());
    assertThat(registry.getDeviceSystemInfo(DEVICE)).contains(reportedSystemInfo(reg));
    assertThat(registry.findDevicesWithCapability("excel_automation")).isEmpty();
  }
}
