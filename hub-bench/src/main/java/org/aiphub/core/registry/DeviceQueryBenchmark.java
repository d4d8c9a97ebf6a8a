package org.aiphub.core.registry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.aiphub.bench.BenchmarkBase;
import org.aiphub.bench.DeviceMetadata;
import org.aiphub.bench.NoopConnection;
import org.aiphub.core.aip.ClientType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Routing queries over 10,000 online devices, of which a {@link #matchFraction} share has the
 * queried capability: the capability index should make both cost O(answer), not O(devices).
 *
 * <p>Target (docs/ARCHITECTURE.md, "Performance targets"): {@code findDevicesWithCapability} over
 * 10k devices at 1% match.
 */
public class DeviceQueryBenchmark extends BenchmarkBase {
  private static final int DEVICES = 10_000;

  /** The capability the queries ask for; only the matching share of devices has it. */
  private static final String CAPABILITY = "excel_automation";

  private static final List<String> REQUIRED = List.of(CAPABILITY, "file_system");
  private static final List<String> PREFERRED_TAGS = List.of("production", "high_priority");
  private static final List<String> TAGS =
      List.of("production", "office", "high_priority", "development", "testing");

  /** Share of the devices that has {@link #CAPABILITY}. */
  @Param({"0.01", "0.5"})
  public double matchFraction;

  private ClientRegistry registry;
  private int matching;

  /** Registers the devices (and one constellation that keeps some of them busy). */
  @Setup(Level.Trial)
  public void setUp() throws DuplicateClientException {
    registry = ClientRegistry.builder().build();
    Random random = new Random(7);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      order.add(i);
    }
    Collections.shuffle(order, random);
    matching = (int) Math.round(DEVICES * matchFraction);
    boolean[] capable = new boolean[DEVICES];
    for (int i = 0; i < matching; i++) {
      capable[order.get(i)] = true;
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      String id = "device_" + i;
      // 70% windows, 20% linux, 10% macos: the platform filter drops some capable devices.
      String platform = i % 10 < 7 ? "windows" : i % 10 < 9 ? "linux" : "macos";
      List<String> features = new ArrayList<>(List.of("gui", "cli", "browser", "file_system"));
      if (capable[i]) {
        features.add(CAPABILITY);
      }
      features.add("skill_" + (i % 32));
      List<String> tags = new ArrayList<>();
      for (String t : TAGS) {
        if (random.nextInt(3) == 0) {
          tags.add(t);
        }
      }
      Map<String, Object> metadata = DeviceMetadata.forDevice(i, id, platform, features, tags);
      registry.addClient(id, platform, new NoopConnection(id), ClientType.DEVICE, metadata);
      ids.add(id);
    }
    // Running sessions on a tenth of the devices, so the "fewest running" tie-break has work.
    String owner = "galaxy@bench";
    registry.addClient(owner, null, new NoopConnection(owner), ClientType.CONSTELLATION, null);
    for (int i = 0; i < DEVICES / 10; i++) {
      String device = ids.get(random.nextInt(DEVICES));
      registry.bindSession("galaxy@task_" + i, owner, device);
    }

    if (findDevicesWithCapability().size() != matching) {
      throw new IllegalStateException(
          "capability index answers " + findDevicesWithCapability().size() + ", not " + matching);
    }
    if (selectOptimalDevice().isEmpty()) {
      throw new IllegalStateException("selectOptimalDevice found no device");
    }
    // Promote the devices to the old generation before measuring, so young collections stay short.
    System.gc();
  }

  /** The ids of every device with the capability (a copy of the index entry). Target: <= 2 us. */
  @Benchmark
  public List<String> findDevicesWithCapability() {
    return registry.findDevicesWithCapability(CAPABILITY);
  }

  /**
   * The best windows device with the capability (and one every device has), preferring two tags:
   * walks the capable devices only.
   */
  @Benchmark
  public Optional<String> selectOptimalDevice() {
    return registry.selectOptimalDevice("windows", REQUIRED, PREFERRED_TAGS);
  }
}
