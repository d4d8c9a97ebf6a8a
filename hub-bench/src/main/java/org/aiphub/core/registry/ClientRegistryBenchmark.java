package org.aiphub.core.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import org.aiphub.bench.BenchmarkBase;
import org.aiphub.bench.DeviceMetadata;
import org.aiphub.bench.NoopConnection;
import org.aiphub.core.aip.ClientType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link ClientRegistry} with 1k, 10k or 100k online clients (90% devices, each with a realistic
 * system info, 10% constellations): the lock-free reads from one and two threads, and the striped
 * updates a registration, a finished task and a takeover cost.
 *
 * <p>Targets (docs/ARCHITECTURE.md, "Performance targets"): {@code getClientInfo} / {@code
 * isDeviceConnected} at 100k clients, and the register + unregister pair.
 */
public class ClientRegistryBenchmark extends BenchmarkBase {
  /** Pre-drawn look-up ids; a power of two so the cursor wraps with a mask. */
  private static final int LOOKUPS = 1 << 16;

  /**
   * Size of the rotating pools of the update benchmarks (ids, metadata, sessions, takeover
   * targets); below the 900 devices of the smallest registry, so takeover targets are distinct.
   */
  private static final int POOL = 1 << 9;

  private static final List<String> WINDOWS_FEATURES =
      List.of("gui", "cli", "browser", "file_system", "office", "windows_apps");
  private static final List<String> LINUX_FEATURES =
      List.of("cli", "browser", "file_system", "docker_support");
  private static final List<String> MACOS_FEATURES =
      List.of("gui", "cli", "browser", "file_system", "office");

  /** How many clients are online before the measured operation. */
  @Param({"1000", "10000", "100000"})
  public int clients;

  private ClientRegistry registry;
  private final List<String> deviceIds = new ArrayList<>();
  private final List<String> constellationIds = new ArrayList<>();

  /** Random existing ids (devices and constellations), so look-ups miss the CPU caches. */
  private String[] lookupIds;

  private String[] churnIds;
  private Map<String, Object>[] churnMetadata;
  private ClientConnection churnConnection;
  private int churnNext;

  private String[] sessionIds;
  private String[] sessionOwners;
  private String[] sessionDevices;
  private int sessionNext;

  private String[] takeoverIds;
  private Map<String, Object>[] takeoverMetadata;
  private ClientConnection[][] takeoverConnections;
  private int[] takeoverLive;
  private int takeoverNext;

  /** Per-thread position in {@link #lookupIds}, so two threads do not walk in step. */
  @State(Scope.Thread)
  public static class Cursor {
    private int next;

    /** Starts at a random place. */
    @Setup
    public void setUp() {
      next = ThreadLocalRandom.current().nextInt();
    }

    int advance() {
      return next++ & (LOOKUPS - 1);
    }
  }

  /** Fills the registry and the pools, then checks that each operation does what it should. */
  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) throws DuplicateClientException {
    // Only the takeover benchmark needs a registry that lets a second connection take an id over;
    // everything else runs under the hub's default policy. Deciding here (rather than in a second
    // @State) keeps just one registry of up to 100k clients on the heap.
    DuplicatePolicy policy =
        params.getBenchmark().endsWith(".takeover")
            ? DuplicatePolicy.TAKEOVER
            : DuplicatePolicy.REJECT;
    registry = ClientRegistry.builder().policy(policy).build();
    Random random = new Random(42);
    List<Map<String, Object>> deviceMetadata = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      if (i % 10 == 9) {
        String id = "galaxy_" + i + "@device_" + (i - 1);
        registry.addClient(
            id,
            null,
            new NoopConnection(id),
            ClientType.CONSTELLATION,
            Map.of("type", "constellation_client", "version", "2.0"));
        constellationIds.add(id);
      } else {
        String id = "device_" + i;
        Map<String, Object> metadata = deviceMetadata(i, id);
        registry.addClient(
            id,
            (String) metadata.get("platform"),
            new NoopConnection(id),
            ClientType.DEVICE,
            metadata);
        deviceIds.add(id);
        if (deviceMetadata.size() < POOL) {
          deviceMetadata.add(metadata);
        }
      }
    }

    lookupIds = new String[LOOKUPS];
    for (int i = 0; i < LOOKUPS; i++) {
      int k = random.nextInt(clients);
      lookupIds[i] = k % 10 == 9 ? constellationIds.get(k / 10) : deviceIds.get(k - k / 10);
    }

    churnIds = new String[POOL];
    churnMetadata = newMetadataArray();
    churnConnection = new NoopConnection("churn");
    for (int i = 0; i < POOL; i++) {
      churnIds[i] = "churn_device_" + i;
      churnMetadata[i] = deviceMetadata(clients + i, churnIds[i]);
    }

    sessionIds = new String[POOL];
    sessionOwners = new String[POOL];
    sessionDevices = new String[POOL];
    for (int i = 0; i < POOL; i++) {
      sessionIds[i] = "galaxy@task_" + i;
      sessionOwners[i] = constellationIds.get(random.nextInt(constellationIds.size()));
      sessionDevices[i] = deviceIds.get(random.nextInt(deviceIds.size()));
    }

    // Distinct devices, each with the connection it registered with and a spare that takes over.
    takeoverIds = new String[POOL];
    takeoverMetadata = newMetadataArray();
    takeoverConnections = new ClientConnection[POOL][];
    takeoverLive = new int[POOL];
    for (int i = 0; i < POOL; i++) {
      String id = deviceIds.get(i);
      takeoverIds[i] = id;
      takeoverMetadata[i] = deviceMetadata.get(i);
      takeoverConnections[i] =
          new ClientConnection[] {
            registry.getClient(id).orElseThrow(), new NoopConnection(id + "#2")
          };
    }

    check(policy);
    // Promote the registry to the old generation now: otherwise the first young collections of
    // the measurement copy up to ~160 MB of live clients and stall it for hundreds of ms.
    System.gc();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object>[] newMetadataArray() {
    return (Map<String, Object>[]) new Map<?, ?>[POOL];
  }

  private static Map<String, Object> deviceMetadata(int n, String id) {
    List<String> features = new ArrayList<>();
    String platform;
    switch (n % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        platform = "windows";
        features.addAll(WINDOWS_FEATURES);
        break;
      case 6:
      case 7:
        platform = "linux";
        features.addAll(LINUX_FEATURES);
        break;
      default:
        platform = "macos";
        features.addAll(MACOS_FEATURES);
    }
    // A few dozen rarer skills spread the capability index beyond the common features.
    features.add("skill_" + (n % 32));
    return DeviceMetadata.forDevice(n, id, platform, features, List.of());
  }

  /** Fails the trial when an operation would measure a no-op (wrong setup, not a slow hub). */
  private void check(DuplicatePolicy policy) throws DuplicateClientException {
    RegistryStats stats = registry.getStats();
    if (stats.total() != clients || stats.deviceClients() != deviceIds.size()) {
      throw new IllegalStateException("registry holds " + stats + ", expected " + clients);
    }
    for (int i = 0; i < 100; i++) {
      if (registry.getClientInfo(lookupIds[i]).isEmpty()) {
        throw new IllegalStateException("look-up id " + lookupIds[i] + " is not registered");
      }
    }
    if (registry.findDevicesWithCapability("skill_3").isEmpty()) {
      throw new IllegalStateException("the capability index is empty");
    }
    if (registerUnregister().isEmpty()) {
      throw new IllegalStateException("registerUnregister removed nothing");
    }
    if (!addRemoveSession()) {
      throw new IllegalStateException("addRemoveSession did not bind and remove its session");
    }
    if (policy == DuplicatePolicy.TAKEOVER) {
      String id = takeoverIds[takeoverNext & (POOL - 1)];
      Optional<ClientInfo> displaced = takeOverOnce();
      if (displaced.isEmpty() || registry.getClient(id).isEmpty()) {
        throw new IllegalStateException("takeover did not displace the live connection of " + id);
      }
    }
    if (registry.getStats().total() != clients) {
      throw new IllegalStateException("the checks changed the client count");
    }
  }

  // ------------------------------------------------------------------------ lock-free reads

  /** One look-up of a random online client. Target: <= 25 ns at 100k clients. */
  @Benchmark
  public Optional<ClientInfo> getClientInfo(Cursor cursor) {
    return registry.getClientInfo(lookupIds[cursor.advance()]);
  }

  /** {@link #getClientInfo} from two threads at once. */
  @Benchmark
  @Threads(2)
  public Optional<ClientInfo> getClientInfo_2threads(Cursor cursor) {
    return registry.getClientInfo(lookupIds[cursor.advance()]);
  }

  /** Whether a random online client is a device. Target: <= 25 ns at 100k clients. */
  @Benchmark
  public boolean isDeviceConnected(Cursor cursor) {
    return registry.isDeviceConnected(lookupIds[cursor.advance()]);
  }

  /** {@link #isDeviceConnected} from two threads at once. */
  @Benchmark
  @Threads(2)
  public boolean isDeviceConnected_2threads(Cursor cursor) {
    return registry.isDeviceConnected(lookupIds[cursor.advance()]);
  }

  /** A snapshot of every device id (90% of the clients): O(answer) by design. */
  @Benchmark
  public List<String> listClientsByType() {
    return registry.listClientsByType(ClientType.DEVICE);
  }

  /** {@link #listClientsByType} from two threads at once. */
  @Benchmark
  @Threads(2)
  public List<String> listClientsByType_2threads() {
    return registry.listClientsByType(ClientType.DEVICE);
  }

  /** The counters: read from index sizes, so independent of the number of clients. */
  @Benchmark
  public RegistryStats getStats() {
    return registry.getStats();
  }

  /** {@link #getStats} from two threads at once. */
  @Benchmark
  @Threads(2)
  public RegistryStats getStats_2threads() {
    return registry.getStats();
  }

  // ------------------------------------------------------------------------ striped updates

  /**
   * A device registers (with its 0.5 KB system info, indexed by type, platform and capability) and
   * leaves again. Target: <= 2 us per pair.
   */
  @Benchmark
  public Optional<Departure> registerUnregister() throws DuplicateClientException {
    int k = churnNext++ & (POOL - 1);
    String id = churnIds[k];
    Map<String, Object> metadata = churnMetadata[k];
    registry.addClient(
        id, (String) metadata.get("platform"), churnConnection, ClientType.DEVICE, metadata);
    return registry.removeClient(id, churnConnection);
  }

  /** A task's session is mapped to its constellation and device, then finishes and is unmapped. */
  @Benchmark
  public boolean addRemoveSession() {
    int k = sessionNext++ & (POOL - 1);
    BindOutcome bound = registry.bindSession(sessionIds[k], sessionOwners[k], sessionDevices[k]);
    return registry.removeSession(sessionIds[k]) && bound == BindOutcome.BOUND;
  }

  /**
   * An online device reconnects on a new connection and takes its id over; then the old
   * connection's cleanup runs and must leave the new entry alone (the hub's disconnect path).
   */
  @Benchmark
  public void takeover(Blackhole bh) throws DuplicateClientException {
    int k = takeoverNext & (POOL - 1);
    ClientConnection stale = takeoverConnections[k][takeoverLive[k]];
    bh.consume(takeOverOnce());
    bh.consume(registry.removeClient(takeoverIds[k], stale));
  }

  private Optional<ClientInfo> takeOverOnce() throws DuplicateClientException {
    int k = takeoverNext++ & (POOL - 1);
    ClientConnection[] pair = takeoverConnections[k];
    int next = takeoverLive[k] ^ 1;
    takeoverLive[k] = next;
    Map<String, Object> metadata = takeoverMetadata[k];
    return registry.addClient(
        takeoverIds[k], (String) metadata.get("platform"), pair[next], ClientType.DEVICE, metadata);
  }
}
