package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.config;
import static org.aiphub.core.registry.RegistryTestSupport.metaWith;
import static org.aiphub.core.registry.RegistryTestSupport.systemInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ClientRegistry#putMirrored}: a client held by another hub node is entered as that node
 * described it, never merged with this registry's device config, and never displaces anybody.
 */
class MirroredClientTest {
  private static final Instant AT_ITS_NODE = Instant.parse("2024-05-01T10:15:30.123456Z");
  private static final DeviceConfig HERE =
      config("d1", Map.of("tags", List.of("here"), "additional_features", List.of("local-only")));

  private final ManualClock clock = new ManualClock();
  private final ClientRegistry registry =
      ClientRegistry.builder()
          .policy(DuplicatePolicy.TAKEOVER)
          .deviceConfig(HERE)
          .defaultMaxConcurrentTasks(3)
          .clock(clock)
          .build();

  @AfterEach
  void consistent() {
    assertThat(RegistryConsistency.check(registry)).isEmpty();
  }

  private static ClientInfo mirror(ClientConnection c, Map<String, Object> merged, int limit) {
    return ClientInfo.mirrorOf("d1", ClientType.DEVICE, c, "linux", AT_ITS_NODE, merged, limit);
  }

  @Test
  void aMirroredDeviceKeepsItsNodesConnectionTimeMergedInfoAndLimit() {
    FakeConnection remote = new FakeConnection("remote");
    Map<String, Object> merged = systemInfo("gui", "excel");
    merged.put("tags", List.of("there"));

    assertThat(registry.putMirrored(mirror(remote, merged, 7))).isTrue();

    ClientInfo info = registry.getClientInfo("d1").orElseThrow();
    assertThat(info.mirrored()).isTrue();
    assertThat(info.connectedAt()).isEqualTo(AT_ITS_NODE);
    assertThat(info.systemInfo()).isEqualTo(merged);
    assertThat(info.maxConcurrentTasks()).isEqualTo(7);
    assertThat(registry.findDevicesWithCapability("excel")).containsExactly("d1");
    assertThat(registry.findDevicesWithCapability("local-only")).isEmpty();
    assertThat(registry.selectOptimalDevice("linux", List.of("gui"), List.of("there")))
        .contains("d1");
  }

  @Test
  void aReloadHereLeavesMirroredDevicesAsTheirNodeDescribedThem() throws Exception {
    FakeConnection local = new FakeConnection("local");
    registry.addClient("d2", "linux", local, ClientType.DEVICE, metaWith("gui"));
    FakeConnection remote = new FakeConnection("remote");
    Map<String, Object> merged = systemInfo("gui");
    registry.putMirrored(mirror(remote, merged, 0));

    int remerged =
        registry.applyDeviceConfig(config("d1", Map.of("tags", List.of("x")), "d2", Map.of()));

    assertThat(remerged).isEqualTo(1);
    assertThat(registry.getDeviceSystemInfo("d1")).contains(merged);
    assertThat(registry.updateDeviceSystemInfo("d1", remote, systemInfo("cli"))).isFalse();
    assertThat(registry.getDeviceSystemInfo("d1")).contains(merged);
  }

  @Test
  void aNewDescriptionReplacesTheEntryOfTheSameConnectionAndMovesTheIndexes() {
    FakeConnection remote = new FakeConnection("remote");
    registry.putMirrored(mirror(remote, systemInfo("gui"), 0));

    assertThat(registry.putMirrored(mirror(remote, systemInfo("cli"), 2))).isTrue();

    assertThat(registry.findDevicesWithCapability("gui")).isEmpty();
    assertThat(registry.findDevicesWithCapability("cli")).containsExactly("d1");
    assertThat(registry.getClientInfo("d1").orElseThrow().maxConcurrentTasks()).isEqualTo(2);
  }

  @Test
  void aMirrorNeverDisplacesAnotherConnectionWhateverThePolicy() throws Exception {
    FakeConnection local = new FakeConnection("local");
    registry.addClient("d1", "linux", local, ClientType.DEVICE, metaWith("gui"));
    ClientInfo held = registry.getClientInfo("d1").orElseThrow();

    assertThat(registry.putMirrored(mirror(new FakeConnection("remote"), systemInfo(), 0)))
        .isFalse();

    assertThat(registry.getClientInfo("d1")).containsSame(held);
  }

  @Test
  void onlyMirroredDescriptionsAreAccepted() {
    ClientInfo local =
        new ClientInfo(
            "d1",
            ClientType.DEVICE,
            new FakeConnection("c"),
            "linux",
            AT_ITS_NODE,
            null,
            null,
            null,
            0);
    assertThatThrownBy(() -> registry.putMirrored(local))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(registry.isOnline("d1")).isFalse();
  }

  @Test
  void aMirroredConstellationHasNoSystemInfo() {
    ClientInfo c =
        ClientInfo.mirrorOf(
            "g1",
            ClientType.CONSTELLATION,
            new FakeConnection("remote"),
            "windows",
            AT_ITS_NODE,
            systemInfo("gui"),
            4);
    assertThat(c.systemInfo()).isNull();
    assertThat(c.maxConcurrentTasks()).isZero();
    assertThat(registry.putMirrored(c)).isTrue();
    assertThat(registry.getClientType("g1")).contains(ClientType.CONSTELLATION);
  }
}
