package org.aiphub.core.registry;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceEntry;
import org.aiphub.core.device.SystemInfoMerger;

/**
 * The registry of online clients and of the sessions mapped to them: the Java twin of the UFO
 * server's {@code ClientConnectionManager}, built for many threads and many thousands of clients.
 *
 * <h2>Concurrency</h2>
 *
 * <ul>
 *   <li>Reads ({@link #getClientInfo}, {@link #isDeviceConnected}, the session getters, the index
 *       queries) are lock-free: plain {@link ConcurrentHashMap} look-ups.
 *   <li>Every update of one client id (its entry, its indexes, its session sets) happens under one
 *       of a fixed array of striped monitors, chosen by the id's hash. Operations that touch two
 *       clients ({@link #bindSession}, {@link #removeSession}) take both stripes in index order, so
 *       they cannot deadlock. No lock is held across I/O: the registry never sends.
 *   <li>Look-alike ids: every online id (mirrored ones too) is indexed under its {@link IdFolds}
 *       keys, and so is every id the device config protects with a {@code token_sha256}. Adding or
 *       removing a client also takes the stripe of each of its keys (all stripes in index order),
 *       so of two look-alikes registering at once on different id stripes one waits for the other
 *       and is refused: the check costs a hash look-up per key, never a scan.
 *   <li>Session sets are immutable snapshots replaced on write (copy-on-write), so a reader
 *       iterates a stable set without copying it.
 *   <li>Secondary indexes (by type, by lower-cased platform, by capability) make "devices on linux"
 *       or "devices with excel" cost O(answer). Counters come from map sizes, not scans.
 * </ul>
 *
 * <h2>Parts</h2>
 *
 * The registry is the table (the client map and its {@link Stripes}) and the entry point; it
 * delegates to package-private parts that each hold one structure: {@link DeviceIndex} (the indexes
 * by type, platform and capability), {@link SessionBindings} (the session sets and links), {@link
 * FoldIndex} (the look-alike index) and a {@link DeviceSelector} (the policy of {@link
 * #selectOptimalDevice}). It is built by {@link #builder()}, which validates every setting.
 *
 * <h2>Improvements over the reference</h2>
 *
 * Duplicate ids follow a {@link DuplicatePolicy}; removal names the connection it expects, so a
 * late cleanup of a replaced connection never removes its successor; platforms match
 * case-insensitively; sessions are mapped only to online clients of the right type, never twice, in
 * insertion order, and leave both sides at once through {@link #removeSession}; device selection
 * skips devices at their {@code max_concurrent_tasks} and breaks ties predictably.
 */
public final class ClientRegistry {
  /** The reference server's default platform for clients that report none. */
  public static final String DEFAULT_PLATFORM = "windows";

  private final ConcurrentHashMap<String, ClientInfo> clients = new ConcurrentHashMap<>();
  private final Stripes stripes = new Stripes();
  private final DeviceIndex index = new DeviceIndex();
  private final SessionBindings bindings = new SessionBindings();
  private final FoldIndex foldIndex;
  private final DeviceSelector selector;
  private final DeviceSelector.Devices selectorView;

  private final DuplicatePolicy policy;
  private final ClientInfoLimits infoLimits;
  private final int defaultMaxConcurrentTasks;
  private final int maxSessionsPerOwner;
  private final Clock clock;
  private volatile Devices devices;

  /** The device config and the fold keys of the ids it protects, swapped together. */
  private record Devices(DeviceConfig config, Map<String, Set<String>> reserved) {}

  private ClientRegistry(Builder b) {
    this.policy = b.policy;
    this.infoLimits = b.infoLimits;
    this.defaultMaxConcurrentTasks = b.defaultMaxConcurrentTasks;
    this.maxSessionsPerOwner = b.maxSessionsPerOwner;
    this.clock = b.clock;
    this.foldIndex = new FoldIndex(b.folds);
    this.selector = b.selector;
    this.devices = devicesOf(b.deviceConfig);
    this.selectorView =
        new DeviceSelector.Devices() {
          @Override
          public ClientInfo device(String id) {
            ClientInfo info = clients.get(id);
            return info != null && info.isDevice() ? info : null;
          }

          @Override
          public int runningSessions(String id) {
            return bindings.ofExecutor(id).size();
          }
        };
  }

  /**
   * A builder with the defaults: {@link DuplicatePolicy#REJECT}, no device config, no task or
   * session limit, {@link ClientInfoLimits#DEFAULTS}, the UTC system clock, {@link
   * IdFolds#CASE_INSENSITIVE} and {@link DeviceSelector#preferredTags()}.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Builds a {@link ClientRegistry}; {@link #build()} checks every setting, so a registry never
   * exists with a bad one. Not thread-safe; one builder builds any number of registries.
   */
  public static final class Builder {
    private DuplicatePolicy policy = DuplicatePolicy.REJECT;
    private DeviceConfig deviceConfig = DeviceConfig.empty();
    private int defaultMaxConcurrentTasks;
    private int maxSessionsPerOwner;
    private ClientInfoLimits infoLimits = ClientInfoLimits.DEFAULTS;
    private Clock clock = Clock.systemUTC();
    private IdFolds folds = IdFolds.CASE_INSENSITIVE;
    private DeviceSelector selector = DeviceSelector.preferredTags();

    private Builder() {}

    /** What to do with a registration whose id is online. */
    public Builder policy(DuplicatePolicy policy) {
      this.policy = policy;
      return this;
    }

    /** Per-device settings merged into system info, and the ids it protects. */
    public Builder deviceConfig(DeviceConfig deviceConfig) {
      this.deviceConfig = deviceConfig;
      return this;
    }

    /** A device's task limit when its config entry sets none (0: no limit; not negative). */
    public Builder defaultMaxConcurrentTasks(int defaultMaxConcurrentTasks) {
      this.defaultMaxConcurrentTasks = defaultMaxConcurrentTasks;
      return this;
    }

    /** Most sessions bound to one owner at once (0: no limit; not negative). */
    public Builder maxSessionsPerOwner(int maxSessionsPerOwner) {
      this.maxSessionsPerOwner = maxSessionsPerOwner;
      return this;
    }

    /** The most metadata and system info cached per client. */
    public Builder infoLimits(ClientInfoLimits infoLimits) {
      this.infoLimits = infoLimits;
      return this;
    }

    /** The source of connection times. */
    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /**
     * The look-alike rule: a registration whose id shares a fold key with a different online or
     * protected id is refused ({@link LookAlikeClientException}).
     */
    public Builder folds(IdFolds folds) {
      this.folds = folds;
      return this;
    }

    /** The policy of {@link ClientRegistry#selectOptimalDevice}. */
    public Builder selector(DeviceSelector selector) {
      this.selector = selector;
      return this;
    }

    /**
     * A registry with these settings.
     *
     * @throws NullPointerException when a setting is null
     * @throws IllegalArgumentException when a limit is negative
     */
    public ClientRegistry build() {
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(deviceConfig, "deviceConfig");
      Objects.requireNonNull(infoLimits, "infoLimits");
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(folds, "folds");
      Objects.requireNonNull(selector, "selector");
      if (defaultMaxConcurrentTasks < 0) {
        throw new IllegalArgumentException("defaultMaxConcurrentTasks must be >= 0");
      }
      if (maxSessionsPerOwner < 0) {
        throw new IllegalArgumentException("maxSessionsPerOwner must be >= 0");
      }
      return new ClientRegistry(this);
    }
  }

  /** Most sessions one constellation may have running (0: no limit). */
  public int maxSessionsPerOwner() {
    return maxSessionsPerOwner;
  }

  /** The most metadata and system info this registry caches per client. */
  public ClientInfoLimits infoLimits() {
    return infoLimits;
  }

  /** The duplicate-id policy this registry applies. */
  public DuplicatePolicy policy() {
    return policy;
  }

  /** The device config currently merged into system info. */
  public DeviceConfig deviceConfig() {
    return devices.config();
  }

  /** The look-alike rule of this registry. */
  public IdFolds folds() {
    return foldIndex.folds();
  }

  // ------------------------------------------------------------------------------- clients

  /**
   * Registers a client. For a device, {@code metadata.system_info} (when it is an object) is cached
   * merged with the device's config entry.
   *
   * @param clientId the id, non-empty
   * @param platform reported platform; {@code null} means {@value #DEFAULT_PLATFORM}
   * @param connection the client's live connection
   * @param clientType device or constellation
   * @param metadata the registration metadata, or {@code null}
   * @return the entry this one displaced under {@link DuplicatePolicy#TAKEOVER} (the caller closes
   *     its connection), or empty for a new id
   * @throws LookAlikeClientException when the id shares a fold key ({@link IdFolds}) with another
   *     id that is online or protected by the device config ({@code token_sha256})
   * @throws DuplicateClientException when the id is online and the policy refuses the newcomer
   * @throws ClientInfoLimitException when the metadata passes the {@link #infoLimits()}; nothing is
   *     registered
   */
  public Optional<ClientInfo> addClient(
      String clientId,
      String platform,
      ClientConnection connection,
      ClientType clientType,
      Map<String, Object> metadata)
      throws DuplicateClientException {
    RegistryText.requireId(clientId);
    Objects.requireNonNull(connection, "connection");
    Objects.requireNonNull(clientType, "clientType");
    // Measured before any stripe is taken: it costs up to the size limit, and a refusal changes
    // nothing, so no lock is needed.
    infoLimits.checkMetadata(metadata, clientType == ClientType.DEVICE);
    List<String> keys = foldIndex.keys(clientId);
    return stripes.locked(
        Stripes.order(clientId, keys),
        () -> register(clientId, keys, platform, connection, clientType, metadata));
  }

  /** Caller holds the stripes of the id and of its keys. */
  private Optional<ClientInfo> register(
      String clientId,
      List<String> keys,
      String platform,
      ClientConnection connection,
      ClientType clientType,
      Map<String, Object> metadata)
      throws DuplicateClientException {
    foldIndex.refuseLookAlikes(clientId, keys, devices.reserved(), this::typeOf);
    ClientInfo live = clients.get(clientId);
    if (live != null) {
      if (policy == DuplicatePolicy.REJECT || live.connection() == connection) {
        throw new DuplicateClientException(
            clientId,
            live.clientType(),
            "client_id "
                + RegistryText.quote(clientId)
                + " is already registered; duplicate registrations are not allowed");
      }
      if (live.clientType() != clientType) {
        throw new DuplicateClientException(
            clientId,
            live.clientType(),
            "client_id "
                + RegistryText.quote(clientId)
                + " is registered as a "
                + live.clientType().wire()
                + "; a "
                + clientType.wire()
                + " cannot take it over");
      }
    }
    Map<String, Object> reported = null;
    if (clientType == ClientType.DEVICE && metadata != null) {
      Object si = metadata.get("system_info");
      if (si instanceof Map) {
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) si;
        reported = map;
      }
    }
    DeviceConfig config = devices.config();
    ClientInfo info =
        describe(
            clientId,
            clientType,
            connection,
            platform == null ? DEFAULT_PLATFORM : platform,
            clock.instant(),
            metadata,
            reported,
            config);
    clients.put(clientId, info);
    if (live != null) {
      index.replace(live, info);
    } else {
      index.add(info);
      foldIndex.add(clientId, keys);
    }
    // applyDeviceConfig may have installed a new config after we read it and walked the
    // devices before ours was indexed: re-merge, so no device keeps a replaced config.
    DeviceConfig now = devices.config();
    if (now != config && info.isDevice()) {
      replace(info, info.reportedSystemInfo(), now);
    }
    return Optional.ofNullable(live);
  }

  /**
   * Enters or refreshes a client whose socket another hub node holds, exactly as that node
   * described it (see {@link ClientInfo#mirrorOf}). Unlike {@link #addClient} this never displaces
   * another connection, whatever the policy: which node holds an id is decided elsewhere.
   *
   * @param described the description, whose connection stands for the other node's socket
   * @return true when entered, or when it replaced the entry of the same connection; false when the
   *     id is held by another connection
   * @throws IllegalArgumentException when {@code described} is not a mirrored description
   */
  public boolean putMirrored(ClientInfo described) {
    Objects.requireNonNull(described, "described");
    if (!described.mirrored()) {
      throw new IllegalArgumentException("not a mirrored client: " + described);
    }
    String clientId = described.clientId();
    List<String> keys = foldIndex.keys(clientId);
    return stripes.locked(
        Stripes.order(clientId, keys),
        () -> {
          ClientInfo live = clients.get(clientId);
          if (live == null) {
            clients.put(clientId, described);
            index.add(described);
            foldIndex.add(clientId, keys);
            return true;
          }
          if (live.connection() != described.connection()) {
            return false;
          }
          clients.put(clientId, described);
          index.replace(live, described);
          return true;
        });
  }

  /**
   * Removes a client, but only while its entry still belongs to {@code expected}: a connection
   * replaced by a takeover cannot remove its successor. The sessions mapped to the client (as owner
   * for a constellation, executor for a device) are unmapped in the same step and handed back for
   * the caller to end; their other side stays mapped until {@link #removeSession}.
   *
   * @return what was removed, or empty when the id is offline or held by another connection
   */
  public Optional<Departure> removeClient(String clientId, ClientConnection expected) {
    if (clientId == null || expected == null) {
      return Optional.empty();
    }
    if (clients.get(clientId) == null) {
      return Optional.empty(); // spares the keys of an id that is not here
    }
    List<String> keys = foldIndex.keys(clientId);
    return stripes.locked(
        Stripes.order(clientId, keys),
        () -> {
          ClientInfo info = clients.get(clientId);
          if (info == null || info.connection() != expected) {
            return Optional.empty();
          }
          clients.remove(clientId);
          index.remove(info);
          foldIndex.remove(clientId, keys);
          Set<String> sessions =
              info.isDevice() ? bindings.removeExecutor(clientId) : bindings.removeOwner(clientId);
          return Optional.of(new Departure(info, sessions));
        });
  }

  /** The connection of an online client. */
  public Optional<ClientConnection> getClient(String clientId) {
    ClientInfo info = clientId == null ? null : clients.get(clientId);
    return info == null ? Optional.empty() : Optional.of(info.connection());
  }

  /** Everything known about an online client. */
  public Optional<ClientInfo> getClientInfo(String clientId) {
    ClientInfo info = clientId == null ? null : clients.get(clientId);
    return info == null ? Optional.empty() : info.asOptional();
  }

  /** The type of an online client. */
  public Optional<ClientType> getClientType(String clientId) {
    ClientInfo info = clientId == null ? null : clients.get(clientId);
    return info == null ? Optional.empty() : Optional.of(info.clientType());
  }

  /** Ids of all online clients (a snapshot, in no particular order). */
  public List<String> listClients() {
    return new ArrayList<>(clients.keySet());
  }

  /** Ids of online clients of one type (a snapshot, in no particular order). */
  public List<String> listClientsByType(ClientType clientType) {
    return new ArrayList<>(index.ofType(clientType));
  }

  /** How many clients of one type are online (a counter read, no scan). */
  public int count(ClientType clientType) {
    return index.ofType(clientType).size();
  }

  /** Whether a client of any type is online under this id. */
  public boolean isOnline(String clientId) {
    return clientId != null && clients.containsKey(clientId);
  }

  /** Whether a <em>device</em> is online under this id (a constellation does not count). */
  public boolean isDeviceConnected(String deviceId) {
    ClientInfo info = deviceId == null ? null : clients.get(deviceId);
    return info != null && info.clientType() == ClientType.DEVICE;
  }

  // ------------------------------------------------------------------------------ sessions

  /**
   * Maps a session to the constellation that started it.
   *
   * @return false when the client is not an online constellation, or the session already has
   *     another owner
   */
  public boolean addConstellationSession(String clientId, String sessionId) {
    RegistryText.requireId(sessionId);
    if (clientId == null) {
      return false;
    }
    synchronized (stripes.of(clientId)) {
      ClientInfo info = clients.get(clientId);
      if (info == null || info.clientType() != ClientType.CONSTELLATION) {
        return false;
      }
      return bindings.addOwner(clientId, sessionId);
    }
  }

  /** Sessions started by a constellation and not yet removed, in the order they were added. */
  public Set<String> getConstellationSessions(String clientId) {
    return bindings.ofOwner(clientId);
  }

  /** Unmaps and returns every session of a constellation. */
  public Set<String> removeConstellationSessions(String clientId) {
    if (clientId == null) {
      return SessionIds.EMPTY;
    }
    synchronized (stripes.of(clientId)) {
      return bindings.removeOwner(clientId);
    }
  }

  /**
   * Maps a session to the device executing it (no capacity check; see {@link #bindSession}).
   *
   * @return false when the client is not an online device, or the session already has another
   *     executor
   */
  public boolean addDeviceSession(String deviceId, String sessionId) {
    RegistryText.requireId(sessionId);
    if (deviceId == null) {
      return false;
    }
    synchronized (stripes.of(deviceId)) {
      ClientInfo info = clients.get(deviceId);
      if (info == null || !info.isDevice()) {
        return false;
      }
      return bindings.addExecutor(deviceId, sessionId);
    }
  }

  /** Sessions a device executes and that were not yet removed, in the order they were added. */
  public Set<String> getDeviceSessions(String deviceId) {
    return bindings.ofExecutor(deviceId);
  }

  /** Unmaps and returns every session of a device. */
  public Set<String> removeDeviceSessions(String deviceId) {
    if (deviceId == null) {
      return SessionIds.EMPTY;
    }
    synchronized (stripes.of(deviceId)) {
      return bindings.removeExecutor(deviceId);
    }
  }

  /**
   * Maps a new session to its owner and its executor in one atomic step, enforcing the device's
   * {@code max_concurrent_tasks}.
   *
   * @param sessionId the session id, not mapped yet
   * @param ownerId the owning constellation, or {@code null} for a session owned by the hub itself
   *     (e.g. HTTP dispatch)
   * @param deviceId the executing device
   */
  public BindOutcome bindSession(String sessionId, String ownerId, String deviceId) {
    RegistryText.requireId(sessionId);
    RegistryText.requireId(deviceId);
    return stripes.both(
        ownerId,
        deviceId,
        () -> {
          if (ownerId != null) {
            ClientInfo owner = clients.get(ownerId);
            if (owner == null || owner.clientType() != ClientType.CONSTELLATION) {
              return BindOutcome.OWNER_OFFLINE;
            }
            if (maxSessionsPerOwner > 0
                && getConstellationSessions(ownerId).size() >= maxSessionsPerOwner) {
              return BindOutcome.OWNER_AT_CAPACITY;
            }
          }
          ClientInfo device = clients.get(deviceId);
          if (device == null || !device.isDevice()) {
            return BindOutcome.DEVICE_OFFLINE;
          }
          int limit = device.maxConcurrentTasks();
          if (limit > 0 && getDeviceSessions(deviceId).size() >= limit) {
            return BindOutcome.DEVICE_AT_CAPACITY;
          }
          return bindings.bind(sessionId, ownerId, deviceId)
              ? BindOutcome.BOUND
              : BindOutcome.SESSION_IN_USE;
        });
  }

  /**
   * Drops one session from both its owner's and its executor's sets (a finished session).
   *
   * @return false when the session was not mapped
   */
  public boolean removeSession(String sessionId) {
    if (sessionId == null) {
      return false;
    }
    while (true) {
      SessionLink link = bindings.link(sessionId);
      if (link == null) {
        return false;
      }
      // false: the link changed under us; retry with the current one
      if (stripes.both(link.owner(), link.executor(), () -> bindings.unbind(sessionId, link))) {
        return true;
      }
    }
  }

  /** The owning constellation and executing device of a mapped session, when known. */
  public Optional<String> getSessionOwner(String sessionId) {
    return bindings.owner(sessionId);
  }

  /** The device executing a mapped session, when known. */
  public Optional<String> getSessionExecutor(String sessionId) {
    return bindings.executor(sessionId);
  }

  // ---------------------------------------------------------------------------- device info

  /** The merged system info of an online <em>device</em> (empty for constellations). */
  public Optional<Map<String, Object>> getDeviceSystemInfo(String deviceId) {
    ClientInfo info = deviceId == null ? null : clients.get(deviceId);
    if (info == null || !info.isDevice()) {
      return Optional.empty();
    }
    return Optional.ofNullable(info.systemInfo());
  }

  /** System info of every online device that has some (devices without info are skipped). */
  public Map<String, Map<String, Object>> getAllDevicesInfo() {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    for (String id : index.ofType(ClientType.DEVICE)) {
      ClientInfo info = clients.get(id);
      if (info != null && info.systemInfo() != null && !info.systemInfo().isEmpty()) {
        out.put(id, info.systemInfo());
      }
    }
    return out;
  }

  /**
   * Replaces a device's reported system info (a {@code device_info_response}) and re-merges it with
   * the device config.
   *
   * @return false when the device is offline, its entry belongs to another connection, or it is
   *     {@linkplain ClientInfo#mirrored() mirrored} (its own node merges its info)
   * @throws ClientInfoLimitException when {@code reported} passes the {@link #infoLimits()}; the
   *     cached info stays as it was
   */
  public boolean updateDeviceSystemInfo(
      String deviceId, ClientConnection expected, Map<String, Object> reported) {
    if (deviceId == null) {
      return false;
    }
    infoLimits.checkSystemInfo(reported);
    synchronized (stripes.of(deviceId)) {
      ClientInfo old = clients.get(deviceId);
      if (old == null || !old.isDevice() || old.mirrored() || old.connection() != expected) {
        return false;
      }
      replace(old, reported, devices.config());
      return true;
    }
  }

  /**
   * Installs a new device config and re-merges the system info of every online device with it,
   * except {@linkplain ClientInfo#mirrored() mirrored} ones: their own node merges its config.
   *
   * @return how many online devices were re-merged
   */
  public int applyDeviceConfig(DeviceConfig config) {
    Objects.requireNonNull(config, "config");
    this.devices = devicesOf(config);
    int n = 0;
    // A snapshot: a device registering meanwhile merges the new config itself (see addClient).
    for (String id : new ArrayList<>(index.ofType(ClientType.DEVICE))) {
      synchronized (stripes.of(id)) {
        ClientInfo old = clients.get(id);
        if (old != null && old.isDevice() && !old.mirrored()) {
          // the config in force, not necessarily ours: a later concurrent call must win
          replace(old, old.reportedSystemInfo(), devices.config());
          n++;
        }
      }
    }
    return n;
  }

  // ------------------------------------------------------------------------ queries, stats

  /**
   * Counters of online clients and mapped sessions. Read without a lock: while clients come and go
   * each count is a recent value, and {@code total} (the number of entries) may briefly differ from
   * devices plus constellations; it never counts a client twice, as a sum could when one changes
   * type between two reads. When nothing changes, they agree.
   */
  public RegistryStats getStats() {
    Map<String, Integer> platforms = index.platformCounts();
    int devices = index.ofType(ClientType.DEVICE).size();
    int constellations = index.ofType(ClientType.CONSTELLATION).size();
    return new RegistryStats(clients.size(), devices, constellations, platforms, bindings.size());
  }

  /** Online devices whose platform equals {@code platform}, ignoring case. */
  public List<String> getDevicesByPlatform(String platform) {
    Set<String> ids = index.onPlatform(platform);
    return ids == null ? new ArrayList<>() : new ArrayList<>(ids);
  }

  /** Clients whose registration is at most {@code within} old, oldest first. */
  public List<String> getRecentlyConnected(Duration within) {
    Instant cutoff = clock.instant().minus(within);
    List<ClientInfo> recent = new ArrayList<>();
    for (ClientInfo info : clients.values()) {
      if (!info.connectedAt().isBefore(cutoff)) {
        recent.add(info);
      }
    }
    recent.sort(Comparator.comparing(ClientInfo::connectedAt).thenComparing(ClientInfo::clientId));
    List<String> ids = new ArrayList<>(recent.size());
    recent.forEach(i -> ids.add(i.clientId()));
    return ids;
  }

  /**
   * Online devices whose merged {@code supported_features} contain {@code capability}; a device
   * without system info never matches. Costs O(answer).
   */
  public List<String> findDevicesWithCapability(String capability) {
    Set<String> ids = index.withCapability(capability);
    return ids == null ? new ArrayList<>() : new ArrayList<>(ids);
  }

  /**
   * Picks the best online device for a task, by the registry's {@link DeviceSelector} over the
   * devices its indexes find. With the default ({@link DeviceSelector#preferredTags()}) it must run
   * on {@code platform} (ignoring case; null for any), have every required capability, and have
   * room under its {@code max_concurrent_tasks}; the best has most of {@code preferredTags}, ties
   * going to the device with fewest running sessions, then the longest connected, then the smallest
   * id.
   */
  public Optional<String> selectOptimalDevice(
      String platform, Collection<String> requiredCapabilities, Collection<String> preferredTags) {
    Collection<String> candidates = index.candidates(platform, requiredCapabilities);
    if (candidates == null) {
      return Optional.empty();
    }
    return selector.select(
        new DeviceSelector.DeviceQuery(platform, requiredCapabilities, preferredTags),
        candidates,
        selectorView);
  }

  // ------------------------------------------------------------------------------ internals

  private ClientInfo describe(
      String clientId,
      ClientType clientType,
      ClientConnection connection,
      String platform,
      Instant connectedAt,
      Map<String, Object> metadata,
      Map<String, Object> reported,
      DeviceConfig config) {
    if (clientType != ClientType.DEVICE) {
      return new ClientInfo(
          clientId, clientType, connection, platform, connectedAt, metadata, null, null, 0);
    }
    DeviceEntry entry = config.entry(clientId);
    int limit =
        entry != null && entry.maxConcurrentTasks() != null
            ? entry.maxConcurrentTasks()
            : defaultMaxConcurrentTasks;
    return new ClientInfo(
        clientId,
        clientType,
        connection,
        platform,
        connectedAt,
        metadata,
        reported,
        SystemInfoMerger.merge(reported, entry),
        limit);
  }

  /** Caller holds the device's stripe. */
  private void replace(ClientInfo old, Map<String, Object> reported, DeviceConfig config) {
    ClientInfo next =
        describe(
            old.clientId(),
            old.clientType(),
            old.connection(),
            old.platform(),
            old.connectedAt(),
            old.metadata(),
            reported,
            config);
    clients.put(old.clientId(), next);
    index.replace(old, next);
  }

  private ClientType typeOf(String clientId) {
    ClientInfo live = clients.get(clientId);
    return live == null ? null : live.clientType();
  }

  /** The config, with the fold keys of every id it protects with a {@code token_sha256}. */
  private Devices devicesOf(DeviceConfig config) {
    return new Devices(config, foldIndex.reservedBy(config));
  }

  // Read accessors for the consistency check in hub-core's test jar (RegistryConsistency).

  /** The client table (do not modify). */
  Map<String, ClientInfo> table() {
    return clients;
  }

  DeviceIndex deviceIndex() {
    return index;
  }

  SessionBindings sessionBindings() {
    return bindings;
  }

  FoldIndex foldIndex() {
    return foldIndex;
  }
}
