package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.config;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceEntry;
import org.aiphub.core.device.SystemInfoMerger;
import org.aiphub.core.testing.FakeConnection;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Several threads register, take over and remove clients, map and unmap sessions, refresh system
 * info and swap the device config at random on a small id space, so they collide all the time.
 * Afterwards every index and counter must agree with a recount of the entries, both through the
 * internal consistency check and through the public API alone.
 */
class ClientRegistryConcurrencyTest {
  private static final int THREADS = 4;
  private static final long RUN_MILLIS = 1_200;
  private static final int DEFAULT_LIMIT = 4;

  private static final List<String> IDS = List.of("x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7");
  private static final List<String> SESSIONS = sessions(24);
  private static final List<String> PLATFORMS =
      Arrays.asList("windows", "Windows", "LINUX", "linux", "macOS", null);
  private static final List<String> FEATURES = List.of("a", "b", "c", "d");
  private static final List<String> ALL_FEATURES = List.of("a", "b", "c", "d", "e", "f", "zz");
  private static final List<String> TAGS = List.of("t1", "t2", "t3");

  private static final DeviceConfig CONFIG_A =
      config(
          "x0",
          Map.of(
              "additional_features",
              List.of("e"),
              "tags",
              List.of("t1"),
              "max_concurrent_tasks",
              2),
          "x1",
          Map.of("max_concurrent_tasks", 1, "owner", "ops"),
          "x2",
          Map.of("additional_features", List.of("f", "a")));
  private static final DeviceConfig CONFIG_B =
      config(
          "x2",
          Map.of("additional_features", List.of("e", "f"), "max_concurrent_tasks", 3),
          "x3",
          Map.of("tags", List.of("t3")));

  // counters of what actually happened, so the run is known to have exercised each path
  private static final int REGISTERED = 0;
  private static final int TAKEN_OVER = 1;
  private static final int DUPLICATE = 2;
  private static final int REMOVED = 3;
  private static final int STALE_REMOVE = 4;
  private static final int BOUND = 5;
  private static final int SESSION_ADDED = 6;
  private static final int SESSION_REMOVED = 7;
  private static final int INFO_UPDATED = 8;
  private static final int CONFIG_APPLIED = 9;
  private static final int COUNTERS = 10;

  private static List<String> sessions(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add("s" + i);
    }
    return List.copyOf(out);
  }

  @ParameterizedTest
  @EnumSource(DuplicatePolicy.class)
  void randomOperationsLeaveEveryIndexConsistentWithTheEntries(DuplicatePolicy policy)
      throws Exception {
    ClientRegistry registry =
        ClientRegistry.builder()
            .policy(policy)
            .deviceConfig(CONFIG_A)
            .defaultMaxConcurrentTasks(DEFAULT_LIMIT)
            .build();
    AtomicLongArray counts = new AtomicLongArray(COUNTERS);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);

    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        workers.add(
            pool.submit(
                () -> {
                  work(registry, counts, deadline);
                  return null;
                }));
      }
      for (Future<?> w : workers) {
        w.get(RUN_MILLIS + 20_000, TimeUnit.MILLISECONDS); // fails on a deadlock or an exception
      }
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    for (int i : new int[] {REGISTERED, DUPLICATE, REMOVED, STALE_REMOVE, BOUND}) {
      assertThat(counts.get(i)).as("counter %d", i).isPositive();
    }
    for (int i : new int[] {SESSION_ADDED, SESSION_REMOVED, INFO_UPDATED, CONFIG_APPLIED}) {
      assertThat(counts.get(i)).as("counter %d", i).isPositive();
    }
    if (policy == DuplicatePolicy.TAKEOVER) {
      assertThat(counts.get(TAKEN_OVER)).isPositive();
    } else {
      assertThat(counts.get(TAKEN_OVER)).isZero();
    }

    assertThat(RegistryConsistency.check(registry)).isEmpty();
    recountThroughThePublicApi(registry);

    // Draining the registry leaves nothing behind in any index.
    for (String id : IDS) {
      registry.getClient(id).ifPresent(c -> registry.removeClient(id, c));
    }
    assertThat(RegistryConsistency.check(registry)).isEmpty();
    assertThat(registry.getStats()).isEqualTo(new RegistryStats(0, 0, 0, Map.of(), 0));
    for (String f : ALL_FEATURES) {
      assertThat(registry.findDevicesWithCapability(f)).isEmpty();
    }
    for (String s : SESSIONS) {
      assertThat(registry.getSessionOwner(s)).isEmpty();
      assertThat(registry.getSessionExecutor(s)).isEmpty();
    }
  }

  private static void work(ClientRegistry registry, AtomicLongArray counts, long deadline)
      throws Exception {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    List<FakeConnection> mine = new ArrayList<>();
    int serial = 0;
    while (System.nanoTime() < deadline) {
      String id = IDS.get(rnd.nextInt(IDS.size()));
      String other = IDS.get(rnd.nextInt(IDS.size()));
      String session = SESSIONS.get(rnd.nextInt(SESSIONS.size()));
      int op = rnd.nextInt(100);
      if (op < 16) {
        ClientType type = rnd.nextInt(3) == 0 ? ClientType.CONSTELLATION : ClientType.DEVICE;
        FakeConnection c = new FakeConnection(Thread.currentThread().getName() + "-" + serial++);
        try {
          Optional<ClientInfo> displaced =
              registry.addClient(id, platform(rnd), c, type, metadata(rnd));
          counts.incrementAndGet(displaced.isPresent() ? TAKEN_OVER : REGISTERED);
          mine.add(c);
          if (mine.size() > 32) {
            mine.remove(0);
          }
        } catch (DuplicateClientException e) {
          counts.incrementAndGet(DUPLICATE);
        }
      } else if (op < 24) {
        Optional<ClientConnection> live = registry.getClient(id);
        if (live.isPresent() && registry.removeClient(id, live.get()).isPresent()) {
          counts.incrementAndGet(REMOVED);
        }
      } else if (op < 28) {
        if (!mine.isEmpty()) {
          FakeConnection maybeStale = mine.get(rnd.nextInt(mine.size()));
          if (registry.removeClient(id, maybeStale).isPresent()) {
            counts.incrementAndGet(REMOVED);
          } else {
            counts.incrementAndGet(STALE_REMOVE);
          }
        }
      } else if (op < 44) {
        String owner = rnd.nextInt(4) == 0 ? null : other;
        if (registry.bindSession(session, owner, id) == BindOutcome.BOUND) {
          counts.incrementAndGet(BOUND);
        }
      } else if (op < 50) {
        if (registry.addConstellationSession(id, session)) {
          counts.incrementAndGet(SESSION_ADDED);
        }
      } else if (op < 56) {
        if (registry.addDeviceSession(id, session)) {
          counts.incrementAndGet(SESSION_ADDED);
        }
      } else if (op < 74) {
        if (registry.removeSession(session)) {
          counts.incrementAndGet(SESSION_REMOVED);
        }
      } else if (op < 76) {
        registry.removeConstellationSessions(id);
      } else if (op < 78) {
        registry.removeDeviceSessions(id);
      } else if (op < 86) {
        Optional<ClientConnection> live = registry.getClient(id);
        if (live.isPresent() && registry.updateDeviceSystemInfo(id, live.get(), systemInfo(rnd))) {
          counts.incrementAndGet(INFO_UPDATED);
        }
      } else if (op < 87) {
        registry.applyDeviceConfig(rnd.nextBoolean() ? CONFIG_A : CONFIG_B);
        counts.incrementAndGet(CONFIG_APPLIED);
      } else {
        read(registry, rnd, id, session);
      }
    }
  }

  /** Readers run alongside the writers; what they see must at least be well formed. */
  private static void read(ClientRegistry registry, ThreadLocalRandom rnd, String id, String s) {
    switch (rnd.nextInt(6)) {
      case 0 -> {
        Optional<String> picked =
            registry.selectOptimalDevice(
                platform(rnd), rnd.nextBoolean() ? List.of() : features(rnd), List.of("t1", "t3"));
        picked.ifPresent(p -> assertThat(IDS).contains(p));
      }
      case 1 -> {
        RegistryStats stats = registry.getStats();
        assertThat(stats.total()).isBetween(0, IDS.size());
        assertThat(stats.runningSessions()).isBetween(0, SESSIONS.size());
      }
      case 2 -> {
        Set<String> owned = registry.getConstellationSessions(id);
        assertThat(owned).doesNotHaveDuplicates();
        assertThat(registry.getDeviceSessions(id)).doesNotHaveDuplicates();
      }
      case 3 -> assertThat(registry.findDevicesWithCapability("a")).doesNotHaveDuplicates();
      case 4 -> registry.getAllDevicesInfo().keySet().forEach(k -> assertThat(IDS).contains(k));
      default -> {
        registry.getSessionOwner(s);
        registry.getSessionExecutor(s);
        registry.getRecentlyConnected(Duration.ofMinutes(1));
        registry.getDevicesByPlatform("linux");
      }
    }
  }

  private static String platform(ThreadLocalRandom rnd) {
    return PLATFORMS.get(rnd.nextInt(PLATFORMS.size()));
  }

  private static List<String> features(ThreadLocalRandom rnd) {
    List<String> out = new ArrayList<>();
    for (String f : FEATURES) {
      if (rnd.nextBoolean()) {
        out.add(f);
      }
    }
    return out;
  }

  private static Map<String, Object> systemInfo(ThreadLocalRandom rnd) {
    int shape = rnd.nextInt(6);
    if (shape == 0) {
      return null;
    }
    Map<String, Object> si = new LinkedHashMap<>();
    if (shape > 1) {
      si.put("supported_features", features(rnd));
    }
    if (shape > 3) {
      si.put("tags", List.of(TAGS.get(rnd.nextInt(TAGS.size()))));
    }
    return si;
  }

  private static Map<String, Object> metadata(ThreadLocalRandom rnd) {
    if (rnd.nextInt(5) == 0) {
      return null;
    }
    Map<String, Object> meta = new HashMap<>();
    meta.put("system_info", systemInfo(rnd));
    return meta;
  }

  // -------------------------------------------------------------------------------- recount

  private static void recountThroughThePublicApi(ClientRegistry registry) {
    List<String> all = registry.listClients();
    List<String> deviceList = registry.listClientsByType(ClientType.DEVICE);
    List<String> constellationList = registry.listClientsByType(ClientType.CONSTELLATION);
    assertThat(all).doesNotHaveDuplicates();
    assertThat(deviceList).doesNotHaveDuplicates();
    assertThat(constellationList).doesNotHaveDuplicates();
    Set<String> devices = Set.copyOf(deviceList);
    Set<String> constellations = Set.copyOf(constellationList);
    assertThat(devices.stream().filter(constellations::contains)).isEmpty();
    Set<String> union = new HashSet<>(devices);
    union.addAll(constellations);
    assertThat(union).isEqualTo(Set.copyOf(all));

    Map<String, ClientInfo> entries = new HashMap<>();
    for (String id : IDS) {
      Optional<ClientInfo> info = registry.getClientInfo(id);
      assertThat(registry.isOnline(id)).isEqualTo(info.isPresent());
      assertThat(all.contains(id)).as(id).isEqualTo(info.isPresent());
      assertThat(registry.isDeviceConnected(id)).isEqualTo(devices.contains(id));
      if (info.isPresent()) {
        ClientInfo i = info.get();
        entries.put(id, i);
        assertThat(i.clientId()).isEqualTo(id);
        assertThat(registry.getClientType(id)).contains(i.clientType());
        assertThat(registry.getClient(id)).containsSame(i.connection());
        assertThat(i.isDevice() ? devices : constellations).contains(id);
      } else {
        assertThat(registry.getClientType(id)).isEmpty();
        assertThat(registry.getConstellationSessions(id)).as(id).isEmpty();
        assertThat(registry.getDeviceSessions(id)).as(id).isEmpty();
      }
    }
    assertThat(entries.keySet()).isEqualTo(Set.copyOf(all));

    // counters and the platform index
    RegistryStats stats = registry.getStats();
    assertThat(stats.total()).isEqualTo(all.size());
    assertThat(stats.deviceClients()).isEqualTo(devices.size());
    assertThat(stats.constellationClients()).isEqualTo(constellations.size());
    assertThat(registry.count(ClientType.DEVICE)).isEqualTo(devices.size());
    assertThat(registry.count(ClientType.CONSTELLATION)).isEqualTo(constellations.size());
    Map<String, Set<String>> byPlatform = new HashMap<>();
    for (String d : devices) {
      String p = entries.get(d).platform().toLowerCase(Locale.ROOT);
      byPlatform.computeIfAbsent(p, k -> new HashSet<>()).add(d);
    }
    Map<String, Integer> platformCounts = new HashMap<>();
    byPlatform.forEach((p, ids) -> platformCounts.put(p, ids.size()));
    assertThat(stats.devicesByPlatform()).isEqualTo(platformCounts);
    for (String spelling : List.of("windows", "WINDOWS", "linux", "Linux", "macos", "MACOS")) {
      String p = spelling.toLowerCase(Locale.ROOT);
      assertThat(Set.copyOf(registry.getDevicesByPlatform(spelling)))
          .as(spelling)
          .isEqualTo(byPlatform.getOrDefault(p, Set.of()));
    }

    // merged info is the report merged with the config in force, and the capability index agrees
    DeviceConfig config = registry.deviceConfig();
    Set<String> withInfo = new HashSet<>();
    for (String d : devices) {
      ClientInfo i = entries.get(d);
      DeviceEntry entry = config.entry(d);
      assertThat(i.systemInfo())
          .as("merged info of %s", d)
          .isEqualTo(SystemInfoMerger.merge(i.reportedSystemInfo(), entry));
      int limit =
          entry != null && entry.maxConcurrentTasks() != null
              ? entry.maxConcurrentTasks()
              : DEFAULT_LIMIT;
      assertThat(i.maxConcurrentTasks()).as("limit of %s", d).isEqualTo(limit);
      assertThat(registry.getDeviceSystemInfo(d)).isEqualTo(Optional.ofNullable(i.systemInfo()));
      if (i.systemInfo() != null && !i.systemInfo().isEmpty()) {
        withInfo.add(d);
      }
    }
    for (String k : constellations) {
      assertThat(registry.getDeviceSystemInfo(k)).isEmpty();
      assertThat(entries.get(k).systemInfo()).isNull();
    }
    assertThat(registry.getAllDevicesInfo().keySet()).isEqualTo(withInfo);
    for (String f : ALL_FEATURES) {
      Set<String> expected = new HashSet<>();
      for (String d : devices) {
        if (entries.get(d).systemInfo() != null && entries.get(d).features().contains(f)) {
          expected.add(d);
        }
      }
      List<String> found = registry.findDevicesWithCapability(f);
      assertThat(found).doesNotHaveDuplicates();
      assertThat(Set.copyOf(found)).as("capability %s", f).isEqualTo(expected);
    }

    // sessions: only on online clients of the right type, never twice, both views agree
    Set<String> running = new HashSet<>();
    for (String k : constellations) {
      List<String> owned = new ArrayList<>(registry.getConstellationSessions(k));
      assertThat(owned).doesNotHaveDuplicates();
      for (String s : owned) {
        assertThat(registry.getSessionOwner(s)).as(s).contains(k);
        running.add(s);
      }
      assertThat(registry.getDeviceSessions(k)).isEmpty();
    }
    for (String d : devices) {
      List<String> executed = new ArrayList<>(registry.getDeviceSessions(d));
      assertThat(executed).doesNotHaveDuplicates();
      for (String s : executed) {
        assertThat(registry.getSessionExecutor(s)).as(s).contains(d);
        running.add(s);
      }
      assertThat(registry.getConstellationSessions(d)).isEmpty();
    }
    for (String s : SESSIONS) {
      Optional<String> owner = registry.getSessionOwner(s);
      Optional<String> executor = registry.getSessionExecutor(s);
      owner.ifPresent(k -> assertThat(registry.getConstellationSessions(k)).contains(s));
      executor.ifPresent(d -> assertThat(registry.getDeviceSessions(d)).contains(s));
      assertThat(running.contains(s)).as(s).isEqualTo(owner.isPresent() || executor.isPresent());
    }
    assertThat(stats.runningSessions()).isEqualTo(running.size());
  }
}
