package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.config;
import static org.aiphub.core.registry.RegistryTestSupport.metaWith;
import static org.aiphub.core.registry.RegistryTestSupport.systemInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceEntry;
import org.aiphub.core.device.SystemInfoMerger;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link ClientRegistry#updateDeviceSystemInfo} and {@link ClientRegistry#applyDeviceConfig}. */
class DeviceInfoUpdateTest {
  private static final int ROUNDS = 500;

  private static final DeviceConfig CONFIG =
      config(
          "d1",
          Map.of(
              "tags",
              List.of("prod"),
              "additional_features",
              List.of("excel"),
              "max_concurrent_tasks",
              2,
              "owner",
              "ops"));

  private final ManualClock clock = new ManualClock();
  private final ClientRegistry registry =
      ClientRegistry.builder().deviceConfig(CONFIG).clock(clock).build();

  @AfterEach
  void consistent() {
    assertThat(RegistryConsistency.check(registry)).isEmpty();
  }

  @SuppressWarnings("unchecked")
  private static Set<Object> features(Map<String, Object> info) {
    return Set.copyOf((List<Object>) info.get("supported_features"));
  }

  @Test
  void updateDeviceSystemInfoReMergesWithTheConfigAndMovesTheCapabilityIndex() throws Exception {
    FakeConnection c = new FakeConnection("c");
    registry.addClient("d1", "linux", c, ClientType.DEVICE, metaWith("gui"));
    assertThat(registry.findDevicesWithCapability("gui")).containsExactly("d1");
    assertThat(registry.findDevicesWithCapability("excel")).containsExactly("d1");
    ClientInfo before = registry.getClientInfo("d1").orElseThrow();

    assertThat(registry.updateDeviceSystemInfo("d1", c, systemInfo("cli", "browser"))).isTrue();

    Map<String, Object> info = registry.getDeviceSystemInfo("d1").orElseThrow();
    assertThat(features(info)).containsExactlyInAnyOrder("cli", "browser", "excel");
    assertThat(info.get("tags")).isEqualTo(List.of("prod"));
    assertThat(info.get("custom_metadata")).isEqualTo(CONFIG.entry("d1").settings());
    assertThat(registry.findDevicesWithCapability("gui")).isEmpty();
    assertThat(registry.findDevicesWithCapability("cli")).containsExactly("d1");
    assertThat(registry.findDevicesWithCapability("excel")).containsExactly("d1");
    assertThat(registry.selectOptimalDevice(null, List.of("gui"), null)).isEmpty();
    assertThat(registry.selectOptimalDevice(null, List.of("browser"), null)).contains("d1");

    ClientInfo after = registry.getClientInfo("d1").orElseThrow();
    assertThat(after.reportedSystemInfo()).isEqualTo(systemInfo("cli", "browser"));
    assertThat(after.connection()).isSameAs(c);
    assertThat(after.connectedAt()).isEqualTo(before.connectedAt());
    assertThat(after.metadata()).isEqualTo(before.metadata());
    assertThat(after.platform()).isEqualTo("linux");
    assertThat(after.maxConcurrentTasks()).isEqualTo(2);
  }

  @Test
  void updateDeviceSystemInfoToNothingDropsEveryCapability() throws Exception {
    FakeConnection c = new FakeConnection("c");
    registry.addClient("d2", "linux", c, ClientType.DEVICE, metaWith("gui"));
    assertThat(registry.updateDeviceSystemInfo("d2", c, null)).isTrue();
    assertThat(registry.getDeviceSystemInfo("d2")).isEmpty();
    assertThat(registry.findDevicesWithCapability("gui")).isEmpty();
    assertThat(registry.getAllDevicesInfo()).isEmpty();
  }

  @Test
  void updateDeviceSystemInfoNeedsTheLiveDeviceConnection() throws Exception {
    FakeConnection c = new FakeConnection("c");
    FakeConnection k = new FakeConnection("k");
    registry.addClient("d1", "linux", c, ClientType.DEVICE, metaWith("gui"));
    registry.addClient("k1", "linux", k, ClientType.CONSTELLATION, null);
    ClientInfo live = registry.getClientInfo("d1").orElseThrow();

    assertThat(registry.updateDeviceSystemInfo("d1", new FakeConnection("c"), systemInfo("x")))
        .isFalse();
    assertThat(registry.updateDeviceSystemInfo("d1", null, systemInfo("x"))).isFalse();
    assertThat(registry.updateDeviceSystemInfo("k1", k, systemInfo("x"))).isFalse();
    assertThat(registry.updateDeviceSystemInfo("nobody", c, systemInfo("x"))).isFalse();
    assertThat(registry.updateDeviceSystemInfo(null, c, systemInfo("x"))).isFalse();

    assertThat(registry.getClientInfo("d1")).containsSame(live);
    assertThat(registry.getClientInfo("k1").orElseThrow().systemInfo()).isNull();
    assertThat(registry.findDevicesWithCapability("x")).isEmpty();
  }

  @Test
  void applyDeviceConfigReMergesEveryOnlineDevice() throws Exception {
    FakeConnection c1 = new FakeConnection("c1");
    registry.addClient("d1", "linux", c1, ClientType.DEVICE, metaWith("gui"));
    registry.addClient("d2", "linux", new FakeConnection("c2"), ClientType.DEVICE, metaWith("gui"));
    registry.addClient("d3", "linux", new FakeConnection("c3"), ClientType.DEVICE, null);
    registry.addClient("k1", "linux", new FakeConnection("k"), ClientType.CONSTELLATION, null);
    registry.bindSession("s1", null, "d2");
    assertThat(registry.getDeviceSystemInfo("d2")).contains(systemInfo("gui"));

    DeviceConfig next =
        config(
            "d2", Map.of("tags", List.of("gpu"), "additional_features", List.of("cuda")),
            "d3", Map.of("tier", "bronze", "max_concurrent_tasks", 1),
            "k1", Map.of("tags", List.of("never")));

    assertThat(registry.applyDeviceConfig(next)).isEqualTo(3);

    assertThat(registry.deviceConfig()).isSameAs(next);
    // d1 lost its entry: its info is what it reported
    assertThat(registry.getDeviceSystemInfo("d1")).contains(systemInfo("gui"));
    assertThat(registry.findDevicesWithCapability("excel")).isEmpty();
    assertThat(registry.getClientInfo("d1").orElseThrow().maxConcurrentTasks()).isZero();
    // d2 gained one
    Map<String, Object> d2 = registry.getDeviceSystemInfo("d2").orElseThrow();
    assertThat(features(d2)).containsExactlyInAnyOrder("gui", "cuda");
    assertThat(d2.get("tags")).isEqualTo(List.of("gpu"));
    assertThat(registry.findDevicesWithCapability("cuda")).containsExactly("d2");
    assertThat(registry.getDeviceSessions("d2")).containsExactly("s1");
    // d3 reported nothing: absent info counts as empty once there is an entry
    assertThat(registry.getDeviceSystemInfo("d3"))
        .contains(Map.of("custom_metadata", Map.of("tier", "bronze", "max_concurrent_tasks", 1)));
    assertThat(registry.bindSession("s2", null, "d3")).isEqualTo(BindOutcome.BOUND);
    assertThat(registry.bindSession("s3", null, "d3")).isEqualTo(BindOutcome.DEVICE_AT_CAPACITY);
    // constellations never get system info
    assertThat(registry.getClientInfo("k1").orElseThrow().systemInfo()).isNull();
    // and a device that registers later gets the new config too
    registry.addClient("d4", "linux", new FakeConnection("c4"), ClientType.DEVICE, null);
    assertThat(registry.getDeviceSystemInfo("d4")).isEmpty();
    assertThat(registry.updateDeviceSystemInfo("d1", c1, systemInfo("cli"))).isTrue();
    assertThat(registry.getDeviceSystemInfo("d1")).contains(systemInfo("cli"));
    assertThatThrownBy(() -> registry.applyDeviceConfig(null))
        .isInstanceOf(NullPointerException.class);
  }

  /**
   * Registrations that run while a new config is installed must not end up merged with the old one:
   * once both are done, every device's info is its report merged with the config in force.
   */
  @Test
  void registrationsRacingApplyDeviceConfigEndUpWithTheNewConfig() throws Exception {
    int devices = 64;
    Object[] oldEntries = new Object[devices * 2];
    Object[] newEntries = new Object[devices * 2];
    for (int d = 0; d < devices; d++) {
      oldEntries[2 * d] = "d" + d;
      oldEntries[2 * d + 1] = Map.of("tags", List.of("old"));
      newEntries[2 * d] = "d" + d;
      newEntries[2 * d + 1] = Map.of("tags", List.of("new"), "max_concurrent_tasks", 1);
    }
    DeviceConfig oldConfig = config(oldEntries);
    DeviceConfig newConfig = config(newEntries);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<String> stale = new ArrayList<>();
    try {
      for (int round = 0; round < ROUNDS; round++) {
        // odd rounds race takeovers of online devices rather than first registrations
        boolean takeover = round % 2 == 1;
        ClientRegistry r =
            ClientRegistry.builder()
                .policy(takeover ? DuplicatePolicy.TAKEOVER : DuplicatePolicy.REJECT)
                .deviceConfig(oldConfig)
                .clock(clock)
                .build();
        if (takeover) {
          for (int d = 0; d < devices; d++) {
            r.addClient("d" + d, "linux", new FakeConnection("p"), ClientType.DEVICE, null);
          }
        }
        // the config changes somewhere in the middle of the registrations
        String trigger = "d" + (round % (devices - 2) + 1);
        CyclicBarrier start = new CyclicBarrier(2);
        Future<?> register =
            pool.submit(
                () -> {
                  start.await();
                  for (int d = 0; d < devices; d++) {
                    r.addClient(
                        "d" + d,
                        "linux",
                        new FakeConnection("c"),
                        ClientType.DEVICE,
                        metaWith("gui"));
                  }
                  return null;
                });
        Future<?> apply =
            pool.submit(
                () -> {
                  start.await();
                  long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                  while (!r.getClientInfo(trigger)
                      .map(i -> !i.features().isEmpty())
                      .orElse(false)) {
                    if (System.nanoTime() > giveUp) {
                      throw new AssertionError(trigger + " never registered");
                    }
                    Thread.onSpinWait();
                  }
                  return r.applyDeviceConfig(newConfig);
                });
        register.get(20, TimeUnit.SECONDS);
        apply.get(20, TimeUnit.SECONDS);

        for (int d = 0; d < devices; d++) {
          ClientInfo info = r.getClientInfo("d" + d).orElseThrow();
          Map<String, Object> expected =
              SystemInfoMerger.merge(info.reportedSystemInfo(), newConfig.entry("d" + d));
          if (!expected.equals(info.systemInfo()) || info.maxConcurrentTasks() != 1) {
            stale.add("round " + round + ": d" + d + " " + info.systemInfo());
          }
        }
        assertThat(RegistryConsistency.check(r)).isEmpty();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(stale).isEmpty();
  }

  /**
   * Two configs installed at once: every device ends up merged with the one left in force. To make
   * the two calls overlap for sure, a takeover of {@code d0} is held inside the registry (its clock
   * read blocks) until both calls wait for {@code d0}; then they race through the devices.
   */
  @Test
  void concurrentApplyDeviceConfigCallsLeaveEveryDeviceOnTheConfigInForce() throws Exception {
    int devices = 64;
    Object[] a = new Object[devices * 2];
    Object[] b = new Object[devices * 2];
    for (int d = 0; d < devices; d++) {
      a[2 * d] = "d" + d;
      a[2 * d + 1] = Map.of("tags", List.of("a"));
      b[2 * d] = "d" + d;
      b[2 * d + 1] = Map.of("tags", List.of("b"), "max_concurrent_tasks", 2);
    }
    DeviceConfig configA = config(a);
    DeviceConfig configB = config(b);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    List<String> stale = new ArrayList<>();
    try {
      for (int round = 0; round < 20; round++) {
        DeviceConfig firstConfig = round % 2 == 0 ? configA : configB;
        DeviceConfig lastConfig = round % 2 == 0 ? configB : configA;
        GateClock gated = new GateClock();
        ClientRegistry r =
            ClientRegistry.builder()
                .policy(DuplicatePolicy.TAKEOVER)
                .deviceConfig(CONFIG)
                .clock(gated)
                .build();
        for (int d = 0; d < devices; d++) {
          r.addClient(
              "d" + d, "linux", new FakeConnection("c"), ClientType.DEVICE, metaWith("gui"));
        }
        Future<?> takeover =
            pool.submit(
                () -> {
                  gated.holdCallsFrom(Thread.currentThread());
                  return r.addClient(
                      "d0", "linux", new FakeConnection("t"), ClientType.DEVICE, metaWith("cli"));
                });
        assertThat(gated.entered.await(20, TimeUnit.SECONDS)).isTrue();
        AtomicReference<Thread> firstThread = new AtomicReference<>();
        AtomicReference<Thread> lastThread = new AtomicReference<>();
        Future<?> first =
            pool.submit(
                () -> {
                  firstThread.set(Thread.currentThread());
                  return r.applyDeviceConfig(firstConfig);
                });
        awaitWaitingOrDone(firstThread, first);
        Future<?> last =
            pool.submit(
                () -> {
                  lastThread.set(Thread.currentThread());
                  return r.applyDeviceConfig(lastConfig);
                });
        awaitWaitingOrDone(lastThread, last);
        gated.release();
        takeover.get(20, TimeUnit.SECONDS);
        first.get(20, TimeUnit.SECONDS);
        last.get(20, TimeUnit.SECONDS);

        assertThat(r.deviceConfig()).isSameAs(lastConfig);
        for (int d = 0; d < devices; d++) {
          ClientInfo info = r.getClientInfo("d" + d).orElseThrow();
          DeviceEntry entry = lastConfig.entry("d" + d);
          if (!SystemInfoMerger.merge(info.reportedSystemInfo(), entry).equals(info.systemInfo())
              || info.maxConcurrentTasks() != (lastConfig == configB ? 2 : 0)) {
            stale.add("round " + round + ": d" + d + " " + info.systemInfo());
          }
        }
        assertThat(r.getClient("d0").orElseThrow().id()).isEqualTo("t");
        assertThat(RegistryConsistency.check(r)).isEmpty();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(stale).isEmpty();
  }

  /**
   * Refreshing a device's info or taking it over with the same platform and capabilities must not
   * make it vanish, even for an instant, from the indexes a router reads: a concurrent dispatch
   * would find no device.
   */
  @Test
  void aDeviceBeingRefreshedOrTakenOverNeverDisappearsFromTheIndexes() throws Exception {
    ClientRegistry r =
        ClientRegistry.builder().policy(DuplicatePolicy.TAKEOVER).clock(clock).build();
    r.addClient("x", "Linux", new FakeConnection("x0"), ClientType.DEVICE, metaWith("gui"));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
      Future<Integer> writer =
          pool.submit(
              () -> {
                int n = 0;
                while (System.nanoTime() < until) {
                  ClientConnection live = r.getClient("x").orElseThrow();
                  if (n % 3 == 0) {
                    r.addClient(
                        "x",
                        "linux",
                        new FakeConnection("x" + n),
                        ClientType.DEVICE,
                        metaWith("gui", "cli"));
                  } else {
                    r.updateDeviceSystemInfo("x", live, systemInfo("gui", "extra" + (n % 5)));
                  }
                  n++;
                }
                return n;
              });
      Future<Set<String>> reader =
          pool.submit(
              () -> {
                Set<String> misses = new TreeSet<>();
                while (!writer.isDone()) {
                  if (!r.findDevicesWithCapability("gui").contains("x")) {
                    misses.add("capability index");
                  }
                  if (!r.getDevicesByPlatform("linux").contains("x")) {
                    misses.add("platform index");
                  }
                  if (!r.listClientsByType(ClientType.DEVICE).contains("x")
                      || r.count(ClientType.DEVICE) != 1) {
                    misses.add("type index");
                  }
                  if (r.selectOptimalDevice("LINUX", List.of("gui"), null).isEmpty()) {
                    misses.add("selection");
                  }
                }
                return misses;
              });
      assertThat(writer.get(20, TimeUnit.SECONDS)).isPositive();
      assertThat(reader.get(20, TimeUnit.SECONDS)).isEmpty();
    } finally {
      pool.shutdownNow();
    }
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  /** Waits until the task's thread is parked on a monitor or the task has finished. */
  private static void awaitWaitingOrDone(AtomicReference<Thread> thread, Future<?> task) {
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!task.isDone()
        && (thread.get() == null || thread.get().getState() != Thread.State.BLOCKED)) {
      if (System.nanoTime() > giveUp) {
        throw new AssertionError("applyDeviceConfig neither finished nor waited");
      }
      Thread.onSpinWait();
    }
  }

  /** A clock whose reads from one chosen thread block until released. */
  private static final class GateClock extends Clock {
    final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch gate = new CountDownLatch(1);
    private volatile Thread held;

    void holdCallsFrom(Thread t) {
      held = t;
    }

    void release() {
      gate.countDown();
    }

    @Override
    public Instant instant() {
      if (Thread.currentThread() == held) {
        entered.countDown();
        try {
          if (!gate.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("never released");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      return Instant.parse("2026-11-25T14:30:00Z");
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }
}
