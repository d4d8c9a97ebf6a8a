package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.config;
import static org.aiphub.core.registry.RegistryTestSupport.systemInfo;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link ClientRegistry#selectOptimalDevice}: filters, score, tie breaks and capacity. */
class SelectOptimalDeviceTest {
  private final ManualClock clock = new ManualClock();
  private ClientRegistry registry = ClientRegistry.builder().clock(clock).build();

  @AfterEach
  void consistent() {
    assertThat(RegistryConsistency.check(registry)).isEmpty();
  }

  /** Registers a device reporting {@code features} and {@code tags}. */
  private void device(String id, String platform, List<String> features, List<String> tags)
      throws Exception {
    Map<String, Object> si = systemInfo(features.toArray(new String[0]));
    if (tags != null) {
      si.put("tags", new ArrayList<>(tags));
    }
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("system_info", si);
    registry.addClient(id, platform, new FakeConnection(id), ClientType.DEVICE, meta);
  }

  private void device(String id, String... tags) throws Exception {
    device(id, "windows", List.of("gui"), Arrays.asList(tags));
  }

  @Test
  void nothingFitsInAnEmptyRegistry() {
    assertThat(registry.selectOptimalDevice(null, null, null)).isEmpty();
    assertThat(registry.selectOptimalDevice("windows", List.of("gui"), List.of("x"))).isEmpty();
  }

  @Test
  void constellationsAreNeverSelected() throws Exception {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("system_info", systemInfo("gui"));
    registry.addClient("k1", "windows", new FakeConnection("k"), ClientType.CONSTELLATION, meta);
    assertThat(registry.selectOptimalDevice(null, null, null)).isEmpty();
    assertThat(registry.selectOptimalDevice("windows", List.of("gui"), null)).isEmpty();
  }

  @Test
  void theScoreIsTheNumberOfPreferredTagsTheDeviceHas() throws Exception {
    device("a", "office");
    device("b", "office", "gpu", "fast");
    device("c", "gpu");
    device("d");

    assertThat(registry.selectOptimalDevice(null, null, List.of("gpu", "fast"))).contains("b");
    assertThat(registry.selectOptimalDevice(null, null, List.of("office"))).contains("a");
    assertThat(registry.selectOptimalDevice(null, null, List.of("fast", "office", "gpu")))
        .contains("b");
    // a preferred tag nobody has still leaves every device eligible
    assertThat(registry.selectOptimalDevice(null, null, List.of("nobody"))).contains("a");
  }

  @Test
  void preferredTagsComeFromTheMergedInfoSoConfigTagsCount() throws Exception {
    registry =
        ClientRegistry.builder()
            .deviceConfig(config("z", Map.of("tags", List.of("production"))))
            .clock(clock)
            .build();
    device("a", "windows", List.of("gui"), List.of("production-like"));
    device("z", "windows", List.of("gui"), List.of("development"));
    assertThat(registry.selectOptimalDevice(null, null, List.of("production"))).contains("z");
    assertThat(registry.selectOptimalDevice(null, null, List.of("development"))).contains("a");
  }

  @Test
  void scoreTiesGoToTheDeviceWithFewestRunningSessions() throws Exception {
    device("a", "gpu");
    device("b", "gpu");
    device("c", "gpu");
    registry.bindSession("s1", null, "a");
    registry.bindSession("s2", null, "a");
    registry.addDeviceSession("b", "s3");
    registry.bindSession("s4", null, "c");
    registry.bindSession("s5", null, "c");

    assertThat(registry.selectOptimalDevice(null, null, List.of("gpu"))).contains("b");
    // but a higher score beats a lighter load
    device("busy", "gpu", "fast");
    for (int i = 0; i < 5; i++) {
      registry.bindSession("busy" + i, null, "busy");
    }
    assertThat(registry.selectOptimalDevice(null, null, List.of("gpu", "fast"))).contains("busy");
  }

  @Test
  void thenTheLongestConnectedDeviceWins() throws Exception {
    device("m");
    clock.advance(Duration.ofSeconds(1));
    device("a");
    clock.advance(Duration.ofSeconds(1));
    device("b");

    assertThat(registry.selectOptimalDevice(null, null, null)).contains("m");
    registry.bindSession("s", null, "m");
    assertThat(registry.selectOptimalDevice(null, null, null)).contains("a");
  }

  @Test
  void thenTheSmallestIdWins() throws Exception {
    device("d3");
    device("d1");
    device("d2");
    assertThat(registry.selectOptimalDevice(null, null, null)).contains("d1");
    assertThat(registry.selectOptimalDevice(null, null, List.of())).contains("d1");
    registry.bindSession("s", null, "d1");
    assertThat(registry.selectOptimalDevice(null, null, null)).contains("d2");
  }

  @Test
  void platformMatchingIgnoresCase() throws Exception {
    device("w", "Windows", List.of("gui"), null);
    device("l", "linux", List.of("gui", "docker"), null);

    assertThat(registry.selectOptimalDevice("WINDOWS", null, null)).contains("w");
    assertThat(registry.selectOptimalDevice("windows", List.of("gui"), null)).contains("w");
    assertThat(registry.selectOptimalDevice("LiNuX", List.of("gui"), null)).contains("l");
    assertThat(registry.selectOptimalDevice("Linux", null, List.of())).contains("l");
    assertThat(registry.selectOptimalDevice("windows", List.of("docker"), null)).isEmpty();
    assertThat(registry.selectOptimalDevice("macos", null, null)).isEmpty();
    assertThat(registry.selectOptimalDevice("macos", List.of("gui"), null)).isEmpty();
    assertThat(registry.selectOptimalDevice(null, List.of("docker"), null)).contains("l");
  }

  @Test
  void everyRequiredCapabilityMustBePresent() throws Exception {
    device("a", "linux", List.of("gui", "cli"), null);
    device("b", "linux", List.of("gui", "cli", "docker"), null);
    device("c", "linux", List.of("docker"), null);

    assertThat(registry.selectOptimalDevice(null, List.of("gui", "docker"), null)).contains("b");
    assertThat(registry.selectOptimalDevice(null, List.of("docker", "gui"), null)).contains("b");
    assertThat(registry.selectOptimalDevice(null, List.of("docker"), null)).contains("b");
    assertThat(registry.selectOptimalDevice(null, List.of("gui", "missing"), null)).isEmpty();
    assertThat(registry.selectOptimalDevice(null, List.of("Docker"), null)).isEmpty();
  }

  @Test
  void aDeviceWithoutSystemInfoOnlyFitsTasksWithoutRequirements() throws Exception {
    registry.addClient("bare", "linux", new FakeConnection("b"), ClientType.DEVICE, null);
    assertThat(registry.selectOptimalDevice("linux", List.of("gui"), null)).isEmpty();
    assertThat(registry.selectOptimalDevice("linux", null, List.of("gpu"))).contains("bare");
  }

  @Test
  void devicesAtTheirConfiguredLimitAreSkipped() throws Exception {
    registry =
        ClientRegistry.builder()
            .deviceConfig(config("a", Map.of("max_concurrent_tasks", 1)))
            .clock(clock)
            .build();
    device("a", "gpu");
    device("b");

    assertThat(registry.selectOptimalDevice(null, null, List.of("gpu"))).contains("a");
    registry.bindSession("s1", null, "a");
    assertThat(registry.selectOptimalDevice(null, null, List.of("gpu"))).contains("b");
    registry.removeClient("b", registry.getClient("b").orElseThrow());
    assertThat(registry.selectOptimalDevice(null, null, List.of("gpu"))).isEmpty();
    assertThat(registry.selectOptimalDevice("windows", List.of("gui"), null)).isEmpty();
    registry.removeSession("s1");
    assertThat(registry.selectOptimalDevice("windows", List.of("gui"), null)).contains("a");
  }

  @Test
  void devicesAtTheDefaultLimitAreSkippedAndSessionsAddedDirectlyCount() throws Exception {
    registry =
        ClientRegistry.builder()
            .deviceConfig(config("b", Map.of("max_concurrent_tasks", 3)))
            .defaultMaxConcurrentTasks(2)
            .clock(clock)
            .build();
    device("a");
    clock.advance(Duration.ofSeconds(1));
    device("b");

    registry.addDeviceSession("a", "s1");
    registry.addDeviceSession("a", "s2");
    registry.bindSession("s3", null, "b");
    registry.bindSession("s4", null, "b");
    // a is at its default limit (2); b has room under its own (3) despite the same load
    assertThat(registry.selectOptimalDevice(null, null, null)).contains("b");
    registry.bindSession("s5", null, "b");
    assertThat(registry.selectOptimalDevice(null, null, null)).isEmpty();
  }

  @Test
  void nullElementsInTheRequirementsDoNotThrow() throws Exception {
    device("a", "gpu");
    assertThat(registry.selectOptimalDevice(null, Arrays.asList("gui", null), null)).isEmpty();
    assertThat(registry.selectOptimalDevice(null, null, Arrays.asList(null, "gpu"))).contains("a");
  }
}
