package org.aiphub.core.registry;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
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

  private static final int STRIPES = 128; // power of two

  private final ConcurrentHashMap<String, ClientInfo> clients = new ConcurrentHashMap<>();
  private final Object[] stripes = new Object[STRIPES];
  private final EnumMap<ClientType, Set<String>> byType = new EnumMap<>(ClientType.class);
  private final ConcurrentHashMap<String, Set<String>> devicesByPlatform =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Set<String>> devicesByCapability =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, SessionIds> constellationSessions =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, SessionIds> deviceSessions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, SessionLink> links = new ConcurrentHashMap<>();
  // fold key -> the online ids with that key (one, but for a cross-node race): see IdFolds
  private final ConcurrentHashMap<String, Set<String>> byFold = new ConcurrentHashMap<>();

  private final DuplicatePolicy policy;
  private final ClientInfoLimits infoLimits;
  private final int defaultMaxConcurrentTasks;
  private final int maxSessionsPerOwner;
  private final Clock clock;
  private final IdFolds folds;
  private volatile Devices devices;

  /** The device config and the fold keys of the ids it protects, swapped together. */
  private record Devices(DeviceConfig config, Map<String, Set<String>> reserved) {}

  /** A registry with the {@link DuplicatePolicy#REJECT} policy, no device config, no limit. */
  public ClientRegistry() {
    this(DuplicatePolicy.REJECT, DeviceConfig.empty(), 0, Clock.systemUTC());
  }

  /**
   * A registry.
   *
   * @param policy what to do with a registration whose id is online
   * @param deviceConfig per-device settings merged into system info
   * @param defaultMaxConcurrentTasks device task limit when its config entry sets none (0: none)
   * @param clock source of connection times
   */
  public ClientRegistry(
      DuplicatePolicy policy,
      DeviceConfig deviceConfig,
      int defaultMaxConcurrentTasks,
      Clock clock) {
    this(policy, deviceConfig, defaultMaxConcurrentTasks, 0, clock);
  }

  /**
   * A registry that also caps how many sessions one constellation may have running.
   *
   * @param maxSessionsPerOwner most sessions bound to one owner at once (0: no limit)
   */
  public ClientRegistry(
      DuplicatePolicy policy,
      DeviceConfig deviceConfig,
      int defaultMaxConcurrentTasks,
      int maxSessionsPerOwner,
      Clock clock) {
    this(
        policy,
        deviceConfig,
        defaultMaxConcurrentTasks,
        maxSessionsPerOwner,
        ClientInfoLimits.DEFAULTS,
        clock,
        IdFolds.CASE_INSENSITIVE);
  }

  /**
   * A registry that also bounds what it caches per client.
   *
   * @param infoLimits the most metadata and system info cached per client
   */
  public ClientRegistry(
      DuplicatePolicy policy,
      DeviceConfig deviceConfig,
      int defaultMaxConcurrentTasks,
      int maxSessionsPerOwner,
      ClientInfoLimits infoLimits,
      Clock clock) {
    this(
        policy,
        deviceConfig,
        defaultMaxConcurrentTasks,
        maxSessionsPerOwner,
        infoLimits,
        clock,
        IdFolds.CASE_INSENSITIVE);
  }

  /**
   * A registry whose look-alike rule is {@code folds}: a registration whose id shares a fold key
   * with a different online or protected id is refused ({@link LookAlikeClientException}).
   *
   * @param infoLimits the most metadata and system info cached per client
   * @param folds the fold keys of an id; the other constructors use {@link
   *     IdFolds#CASE_INSENSITIVE}
   */
  public ClientRegistry(
      DuplicatePolicy policy,
      DeviceConfig deviceConfig,
      int defaultMaxConcurrentTasks,
      int maxSessionsPerOwner,
      ClientInfoLimits infoLimits,
      Clock clock,
      IdFolds folds) {
    this.infoLimits = Objects.requireNonNull(infoLimits, "infoLimits");
    if (maxSessionsPerOwner < 0) {
      throw new IllegalArgumentException("maxSessionsPerOwner must be >= 0");
    }
    this.maxSessionsPerOwner = maxSessionsPerOwner;
    this.policy = Objects.requireNonNull(policy, "policy");
    this.folds = Objects.requireNonNull(folds, "folds");
    this.devices = devicesOf(Objects.requireNonNull(deviceConfig, "deviceConfig"));
    if (defaultMaxConcurrentTasks < 0) {
      throw new IllegalArgumentException("defaultMaxConcurrentTasks must be >= 0");
    }
    this.defaultMaxConcurrentTasks = defaultMaxConcurrentTasks;
    this.clock = Objects.requireNonNull(clock, "clock");
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Object();
    }
    for (ClientType t : ClientType.values()) {
      byType.put(t, ConcurrentHashMap.newKeySet());
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
    return folds;
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
    requireId(clientId);
    Objects.requireNonNull(connection, "connection");
    Objects.requireNonNull(clientType, "clientType");
    // Measured before any stripe is taken: it costs up to the size limit, and a refusal changes
    // nothing, so no lock is needed.
    infoLimits.checkMetadata(metadata, clientType == ClientType.DEVICE);
    List<String> keys = folds.keys(clientId);
    return locked(
        lockOrder(clientId, keys),
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
    refuseLookAlikes(clientId, keys);
    ClientInfo live = clients.get(clientId);
    if (live != null) {
      if (policy == DuplicatePolicy.REJECT || live.connection() == connection) {
        throw new DuplicateClientException(
            clientId,
            live.clientType(),
            "client_id "
                + quote(clientId)
                + " is already registered; duplicate registrations are not allowed");
      }
      if (live.clientType() != clientType) {
        throw new DuplicateClientException(
            clientId,
            live.clientType(),
            "client_id "
                + quote(clientId)
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
      reindex(live, info);
    } else {
      index(info);
      fold(clientId, keys);
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
    List<String> keys = folds.keys(clientId);
    return locked(
        lockOrder(clientId, keys),
        () -> {
          ClientInfo live = clients.get(clientId);
          if (live == null) {
            clients.put(clientId, described);
            index(described);
            fold(clientId, keys);
            return true;
          }
          if (live.connection() != described.connection()) {
            return false;
          }
          clients.put(clientId, described);
          reindex(live, described);
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
    List<String> keys = folds.keys(clientId);
    return locked(
        lockOrder(clientId, keys),
        () -> {
          ClientInfo info = clients.get(clientId);
          if (info == null || info.connection() != expected) {
            return Optional.empty();
          }
          clients.remove(clientId);
          unindex(info);
          unfold(clientId, keys);
          Set<String> sessions =
              info.isDevice()
                  ? unmapDeviceSessions(clientId)
                  : unmapConstellationSessions(clientId);
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
    return new ArrayList<>(byType.get(clientType));
  }

  /** How many clients of one type are online (a counter read, no scan). */
  public int count(ClientType clientType) {
    return byType.get(clientType).size();
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
    requireId(sessionId);
    if (clientId == null) {
      return false;
    }
    synchronized (stripe(clientId)) {
      ClientInfo info = clients.get(clientId);
      if (info == null || info.clientType() != ClientType.CONSTELLATION) {
        return false;
      }
      SessionLink link =
          links.compute(
              sessionId,
              (k, l) ->
                  l == null
                      ? new SessionLink(clientId, null)
                      : l.owner() == null ? new SessionLink(clientId, l.executor()) : l);
      if (!clientId.equals(link.owner())) {
        return false;
      }
      constellationSessions.merge(
          clientId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
      return true;
    }
  }

  /** Sessions started by a constellation and not yet removed, in the order they were added. */
  public Set<String> getConstellationSessions(String clientId) {
    SessionIds ids = clientId == null ? null : constellationSessions.get(clientId);
    return ids == null ? SessionIds.EMPTY : ids;
  }

  /** Unmaps and returns every session of a constellation. */
  public Set<String> removeConstellationSessions(String clientId) {
    if (clientId == null) {
      return SessionIds.EMPTY;
    }
    synchronized (stripe(clientId)) {
      return unmapConstellationSessions(clientId);
    }
  }

  /**
   * Maps a session to the device executing it (no capacity check; see {@link #bindSession}).
   *
   * @return false when the client is not an online device, or the session already has another
   *     executor
   */
  public boolean addDeviceSession(String deviceId, String sessionId) {
    requireId(sessionId);
    if (deviceId == null) {
      return false;
    }
    synchronized (stripe(deviceId)) {
      ClientInfo info = clients.get(deviceId);
      if (info == null || !info.isDevice()) {
        return false;
      }
      SessionLink link =
          links.compute(
              sessionId,
              (k, l) ->
                  l == null
                      ? new SessionLink(null, deviceId)
                      : l.executor() == null ? new SessionLink(l.owner(), deviceId) : l);
      if (!deviceId.equals(link.executor())) {
        return false;
      }
      deviceSessions.merge(deviceId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
      return true;
    }
  }

  /** Sessions a device executes and that were not yet removed, in the order they were added. */
  public Set<String> getDeviceSessions(String deviceId) {
    SessionIds ids = deviceId == null ? null : deviceSessions.get(deviceId);
    return ids == null ? SessionIds.EMPTY : ids;
  }

  /** Unmaps and returns every session of a device. */
  public Set<String> removeDeviceSessions(String deviceId) {
    if (deviceId == null) {
      return SessionIds.EMPTY;
    }
    synchronized (stripe(deviceId)) {
      return unmapDeviceSessions(deviceId);
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
    requireId(sessionId);
    requireId(deviceId);
    return withStripes(
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
          if (links.putIfAbsent(sessionId, new SessionLink(ownerId, deviceId)) != null) {
            return BindOutcome.SESSION_IN_USE;
          }
          if (ownerId != null) {
            constellationSessions.merge(
                ownerId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
          }
          deviceSessions.merge(
              deviceId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
          return BindOutcome.BOUND;
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
      SessionLink link = links.get(sessionId);
      if (link == null) {
        return false;
      }
      Boolean done =
          withStripes(
              link.owner(),
              link.executor(),
              () -> {
                if (!links.remove(sessionId, link)) {
                  return null; // changed under us: retry with the current link
                }
                if (link.owner() != null) {
                  dropFrom(constellationSessions, link.owner(), sessionId);
                }
                if (link.executor() != null) {
                  dropFrom(deviceSessions, link.executor(), sessionId);
                }
                return Boolean.TRUE;
              });
      if (done != null) {
        return true;
      }
    }
  }

  /** The owning constellation and executing device of a mapped session, when known. */
  public Optional<String> getSessionOwner(String sessionId) {
    SessionLink link = sessionId == null ? null : links.get(sessionId);
    return link == null ? Optional.empty() : Optional.ofNullable(link.owner());
  }

  /** The device executing a mapped session, when known. */
  public Optional<String> getSessionExecutor(String sessionId) {
    SessionLink link = sessionId == null ? null : links.get(sessionId);
    return link == null ? Optional.empty() : Optional.ofNullable(link.executor());
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
    for (String id : byType.get(ClientType.DEVICE)) {
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
    synchronized (stripe(deviceId)) {
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
    for (String id : new ArrayList<>(byType.get(ClientType.DEVICE))) {
      synchronized (stripe(id)) {
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
    Map<String, Integer> platforms = new HashMap<>();
    devicesByPlatform.forEach(
        (p, ids) -> {
          int n = ids.size();
          if (n > 0) {
            platforms.put(p, n);
          }
        });
    int devices = byType.get(ClientType.DEVICE).size();
    int constellations = byType.get(ClientType.CONSTELLATION).size();
    return new RegistryStats(clients.size(), devices, constellations, platforms, links.size());
  }

  /** Online devices whose platform equals {@code platform}, ignoring case. */
  public List<String> getDevicesByPlatform(String platform) {
    Set<String> ids = platform == null ? null : devicesByPlatform.get(lower(platform));
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
    Set<String> ids = capability == null ? null : devicesByCapability.get(capability);
    return ids == null ? new ArrayList<>() : new ArrayList<>(ids);
  }

  /**
   * Picks the best online device for a task: it must run on {@code platform} (ignoring case; null
   * for any), have every required capability, and have room under its {@code max_concurrent_tasks}.
   * The best has most of {@code preferredTags}; ties go to the device with fewest running sessions,
   * then the longest connected, then the smallest id.
   */
  public Optional<String> selectOptimalDevice(
      String platform, Collection<String> requiredCapabilities, Collection<String> preferredTags) {
    Collection<String> candidates = byType.get(ClientType.DEVICE);
    if (requiredCapabilities != null && !requiredCapabilities.isEmpty()) {
      Set<String> smallest = null;
      for (String cap : requiredCapabilities) {
        Set<String> ids = cap == null ? null : devicesByCapability.get(cap);
        if (ids == null || ids.isEmpty()) {
          return Optional.empty();
        }
        if (smallest == null || ids.size() < smallest.size()) {
          smallest = ids;
        }
      }
      candidates = smallest;
    } else if (platform != null) {
      Set<String> ids = devicesByPlatform.get(lower(platform));
      if (ids == null) {
        return Optional.empty();
      }
      candidates = ids;
    }
    String wantedPlatform = platform == null ? null : lower(platform);
    ClientInfo best = null;
    int bestScore = -1;
    int bestRunning = 0;
    for (String id : candidates) {
      ClientInfo info = clients.get(id);
      if (info == null || !info.isDevice()) {
        continue;
      }
      if (wantedPlatform != null && !wantedPlatform.equals(info.platformKey())) {
        continue;
      }
      if (requiredCapabilities != null
          && !requiredCapabilities.isEmpty()
          && !info.featureSet().containsAll(requiredCapabilities)) {
        continue;
      }
      int running = getDeviceSessions(id).size();
      if (info.maxConcurrentTasks() > 0 && running >= info.maxConcurrentTasks()) {
        continue;
      }
      int score = 0;
      if (preferredTags != null && !preferredTags.isEmpty()) {
        Set<String> tags = info.tagSet();
        for (String t : preferredTags) {
          if (t != null && tags.contains(t)) {
            score++;
          }
        }
      }
      if (best == null || better(score, running, info, bestScore, bestRunning, best)) {
        best = info;
        bestScore = score;
        bestRunning = running;
      }
    }
    return best == null ? Optional.empty() : Optional.of(best.clientId());
  }

  private static boolean better(
      int score, int running, ClientInfo info, int bestScore, int bestRunning, ClientInfo best) {
    if (score != bestScore) {
      return score > bestScore;
    }
    if (running != bestRunning) {
      return running < bestRunning;
    }
    int byAge = info.connectedAt().compareTo(best.connectedAt());
    if (byAge != 0) {
      return byAge < 0;
    }
    return info.clientId().compareTo(best.clientId()) < 0;
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
    reindex(old, next);
  }

  /** Caller holds the client's stripe. */
  private void index(ClientInfo info) {
    String id = info.clientId();
    byType.get(info.clientType()).add(id);
    if (info.isDevice()) {
      addTo(devicesByPlatform, info.platformKey(), id);
      for (String f : info.featureSet()) {
        addTo(devicesByCapability, f, id);
      }
    }
  }

  /**
   * Moves a client's index entries from {@code old} to {@code next} (same id), touching only the
   * entries that change. Removing and re-adding an unchanged entry would let a reader miss the
   * client, and would make a walk over the type index (applyDeviceConfig) meet the re-added id
   * again and again, without end. Caller holds the client's stripe.
   */
  private void reindex(ClientInfo old, ClientInfo next) {
    if (old.clientType() != next.clientType()) {
      unindex(old);
      index(next);
      return;
    }
    if (!next.isDevice()) {
      return;
    }
    String id = next.clientId();
    String oldPlatform = old.platformKey();
    String newPlatform = next.platformKey();
    if (!oldPlatform.equals(newPlatform)) {
      addTo(devicesByPlatform, newPlatform, id);
      removeFrom(devicesByPlatform, oldPlatform, id);
    }
    Set<String> oldFeatures = old.featureSet();
    Set<String> newFeatures = next.featureSet();
    for (String f : newFeatures) {
      if (!oldFeatures.contains(f)) {
        addTo(devicesByCapability, f, id);
      }
    }
    for (String f : oldFeatures) {
      if (!newFeatures.contains(f)) {
        removeFrom(devicesByCapability, f, id);
      }
    }
  }

  /** Caller holds the client's stripe. */
  private void unindex(ClientInfo info) {
    String id = info.clientId();
    byType.get(info.clientType()).remove(id);
    if (info.isDevice()) {
      removeFrom(devicesByPlatform, info.platformKey(), id);
      for (String f : info.featureSet()) {
        removeFrom(devicesByCapability, f, id);
      }
    }
  }

  // compute() keeps "create set, add" and "remove, drop empty set" atomic per key, so an add
  // can never land in a set that a concurrent removal is discarding.
  private static void addTo(ConcurrentHashMap<String, Set<String>> index, String key, String id) {
    index.compute(
        key,
        (k, set) -> {
          Set<String> s = set == null ? ConcurrentHashMap.newKeySet() : set;
          s.add(id);
          return s;
        });
  }

  private static void removeFrom(
      ConcurrentHashMap<String, Set<String>> index, String key, String id) {
    index.computeIfPresent(
        key,
        (k, set) -> {
          set.remove(id);
          return set.isEmpty() ? null : set;
        });
  }

  /** Caller holds the constellation's stripe. */
  private Set<String> unmapConstellationSessions(String clientId) {
    SessionIds ids = constellationSessions.remove(clientId);
    if (ids == null) {
      return SessionIds.EMPTY;
    }
    for (String s : ids) {
      links.computeIfPresent(s, (k, l) -> clientId.equals(l.owner()) ? l.withoutOwner() : l);
    }
    return ids;
  }

  /** Caller holds the device's stripe. */
  private Set<String> unmapDeviceSessions(String deviceId) {
    SessionIds ids = deviceSessions.remove(deviceId);
    if (ids == null) {
      return SessionIds.EMPTY;
    }
    for (String s : ids) {
      links.computeIfPresent(s, (k, l) -> deviceId.equals(l.executor()) ? l.withoutExecutor() : l);
    }
    return ids;
  }

  private static void dropFrom(
      ConcurrentHashMap<String, SessionIds> sets, String clientId, String sessionId) {
    sets.computeIfPresent(
        clientId,
        (k, ids) -> {
          SessionIds next = ids.without(sessionId);
          return next.isEmpty() ? null : next;
        });
  }

  /**
   * Refuses {@code clientId} when one of its keys belongs to another id: one protected by the
   * device config, or one online. Caller holds the stripes of the keys.
   */
  private void refuseLookAlikes(String clientId, List<String> keys)
      throws LookAlikeClientException {
    Map<String, Set<String>> reserved = devices.reserved();
    for (String key : keys) {
      for (String other : reserved.getOrDefault(key, Set.of())) {
        if (!other.equals(clientId)) {
          ClientInfo live = clients.get(other);
          throw new LookAlikeClientException(
              clientId,
              other,
              live == null ? null : live.clientType(),
              true,
              "client_id "
                  + quote(clientId)
                  + " is too like a client id that has its own credential in the device config");
        }
      }
      for (String other : byFold.getOrDefault(key, Set.of())) {
        if (!other.equals(clientId)) {
          ClientInfo live = clients.get(other);
          throw new LookAlikeClientException(
              clientId,
              other,
              live == null ? null : live.clientType(),
              false,
              "client_id " + quote(clientId) + " is too like the online client id " + quote(other));
        }
      }
    }
  }

  /** Caller holds the stripes of the keys. */
  private void fold(String clientId, List<String> keys) {
    for (String key : keys) {
      byFold.compute(key, (k, ids) -> ids == null ? Set.of(clientId) : plus(ids, clientId));
    }
  }

  /** Caller holds the stripes of the keys. */
  private void unfold(String clientId, List<String> keys) {
    for (String key : keys) {
      byFold.computeIfPresent(key, (k, ids) -> minus(ids, clientId));
    }
  }

  private static Set<String> plus(Set<String> ids, String id) {
    if (ids.contains(id)) {
      return ids;
    }
    java.util.LinkedHashSet<String> more = new java.util.LinkedHashSet<>(ids);
    more.add(id);
    return Collections.unmodifiableSet(more);
  }

  private static Set<String> minus(Set<String> ids, String id) {
    if (!ids.contains(id)) {
      return ids;
    }
    if (ids.size() == 1) {
      return null;
    }
    java.util.LinkedHashSet<String> fewer = new java.util.LinkedHashSet<>(ids);
    fewer.remove(id);
    return fewer.size() == 1 ? Set.of(fewer.iterator().next()) : Collections.unmodifiableSet(fewer);
  }

  /** The config, with the fold keys of every id it protects with a {@code token_sha256}. */
  private Devices devicesOf(DeviceConfig config) {
    Map<String, Set<String>> reserved = new HashMap<>();
    config
        .devices()
        .forEach(
            (id, entry) -> {
              if (entry.tokenSha256() != null && id != null && !id.isEmpty()) {
                for (String key : folds.keys(id)) {
                  reserved.merge(key, Set.of(id), (a, b) -> plus(a, id));
                }
              }
            });
    return new Devices(config, Map.copyOf(reserved));
  }

  /** The stripes of {@code id} and of its fold keys, in index order, each once. */
  private static int[] lockOrder(String id, List<String> keys) {
    if (keys.size() == 1) { // the default rule: no stream, no sort
      int a = stripeIndex(id);
      int b = stripeIndex(keys.get(0));
      return a == b ? new int[] {a} : new int[] {Math.min(a, b), Math.max(a, b)};
    }
    int[] order = new int[keys.size() + 1];
    order[0] = stripeIndex(id);
    for (int i = 0; i < keys.size(); i++) {
      order[i + 1] = stripeIndex(keys.get(i));
    }
    return Arrays.stream(order).sorted().distinct().toArray();
  }

  /** A body run under stripes, which may throw {@code E}. */
  @FunctionalInterface
  private interface Locked<T, E extends Exception> {
    T run() throws E;
  }

  /** Runs {@code body} holding the stripes {@code order} (ascending, distinct). */
  private <T, E extends Exception> T locked(int[] order, Locked<T, E> body) throws E {
    return locked(order, 0, body);
  }

  private <T, E extends Exception> T locked(int[] order, int from, Locked<T, E> body) throws E {
    if (from == order.length) {
      return body.run();
    }
    synchronized (stripes[order[from]]) {
      return locked(order, from + 1, body);
    }
  }

  private Object stripe(String id) {
    return stripes[stripeIndex(id)];
  }

  private static int stripeIndex(String id) {
    int h = id.hashCode();
    return (h ^ (h >>> 16)) & (STRIPES - 1);
  }

  /** Runs {@code body} holding the stripes of {@code a} and {@code b} (either may be null). */
  private <T> T withStripes(String a, String b, Supplier<T> body) {
    if (a == null && b == null) {
      return body.get();
    }
    if (a == null || b == null) {
      synchronized (stripe(a == null ? b : a)) {
        return body.get();
      }
    }
    int ia = stripeIndex(a);
    int ib = stripeIndex(b);
    if (ia == ib) {
      synchronized (stripes[ia]) {
        return body.get();
      }
    }
    synchronized (stripes[Math.min(ia, ib)]) {
      synchronized (stripes[Math.max(ia, ib)]) {
        return body.get();
      }
    }
  }

  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  private static void requireId(String id) {
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("id must be a non-empty string");
    }
  }

  /**
   * An id in a refusal: quoted, at most 128 characters, anything but printable ASCII (quotes and
   * backslashes included) as a {@code \\uXXXX} escape, so a look-alike shows what it holds.
   */
  private static String quote(String s) {
    int n = Math.min(s.length(), 128);
    StringBuilder out = new StringBuilder(n + 8).append('\'');
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
        out.append(c);
      } else {
        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      }
    }
    return out.append(s.length() > n ? "...'" : "'").toString();
  }

  /** Test hook: distinct capabilities in the index, and (device, capability) pairs in it. */
  long[] capabilityIndexSize() {
    long pairs = 0;
    for (Set<String> ids : devicesByCapability.values()) {
      pairs += ids.size();
    }
    return new long[] {devicesByCapability.size(), pairs};
  }

  /** Test hook: recounts every index from the main maps; empty when all is consistent. */
  List<String> checkConsistency() {
    List<String> problems = new ArrayList<>();
    for (ClientType t : ClientType.values()) {
      for (String id : byType.get(t)) {
        ClientInfo info = clients.get(id);
        if (info == null || info.clientType() != t) {
          problems.add("type index " + t + " holds " + id);
        }
      }
    }
    int devices = 0;
    for (ClientInfo info : clients.values()) {
      if (!byType.get(info.clientType()).contains(info.clientId())) {
        problems.add("type index misses " + info.clientId());
      }
      if (info.isDevice()) {
        devices++;
        Set<String> p = devicesByPlatform.get(info.platformKey());
        if (p == null || !p.contains(info.clientId())) {
          problems.add("platform index misses " + info.clientId());
        }
        for (String f : info.featureSet()) {
          Set<String> c = devicesByCapability.get(f);
          if (c == null || !c.contains(info.clientId())) {
            problems.add("capability index misses " + info.clientId() + "/" + f);
          }
        }
      }
    }
    if (devices != byType.get(ClientType.DEVICE).size()) {
      problems.add("device count " + byType.get(ClientType.DEVICE).size() + " != " + devices);
    }
    devicesByPlatform.forEach(
        (p, ids) ->
            ids.forEach(
                id -> {
                  ClientInfo info = clients.get(id);
                  if (info == null || !info.isDevice() || !info.platformKey().equals(p)) {
                    problems.add("platform index " + p + " holds " + id);
                  }
                }));
    devicesByCapability.forEach(
        (c, ids) ->
            ids.forEach(
                id -> {
                  ClientInfo info = clients.get(id);
                  if (info == null || !info.featureSet().contains(c)) {
                    problems.add("capability index " + c + " holds " + id);
                  }
                }));
    for (ClientInfo info : clients.values()) {
      for (String key : folds.keys(info.clientId())) {
        Set<String> ids = byFold.get(key);
        if (ids == null || !ids.contains(info.clientId())) {
          problems.add("fold index misses " + info.clientId() + "/" + key);
        }
      }
    }
    byFold.forEach(
        (key, ids) -> {
          if (ids.isEmpty()) {
            problems.add("empty fold set kept for " + key);
          }
          for (String id : ids) {
            if (!clients.containsKey(id) || !folds.keys(id).contains(key)) {
              problems.add("fold index " + key + " holds " + id);
            }
          }
        });
    checkSide(problems, constellationSessions, true);
    checkSide(problems, deviceSessions, false);
    links.forEach(
        (s, l) -> {
          if (l.owner() == null && l.executor() == null) {
            problems.add("empty link " + s);
          }
          if (l.owner() != null && !getConstellationSessions(l.owner()).contains(s)) {
            problems.add("owner set of " + l.owner() + " misses " + s);
          }
          if (l.executor() != null && !getDeviceSessions(l.executor()).contains(s)) {
            problems.add("device set of " + l.executor() + " misses " + s);
          }
        });
    return problems;
  }

  private void checkSide(
      List<String> problems, ConcurrentHashMap<String, SessionIds> sets, boolean owners) {
    sets.forEach(
        (client, ids) -> {
          ClientInfo info = clients.get(client);
          ClientType want = owners ? ClientType.CONSTELLATION : ClientType.DEVICE;
          if (info == null || info.clientType() != want) {
            problems.add("sessions mapped to offline or mistyped client " + client);
          }
          if (ids.isEmpty()) {
            problems.add("empty session set kept for " + client);
          }
          for (String s : ids) {
            SessionLink l = links.get(s);
            String side = l == null ? null : owners ? l.owner() : l.executor();
            if (!client.equals(side)) {
              problems.add("session " + s + " in set of " + client + " but link says " + l);
            }
          }
        });
  }
}
