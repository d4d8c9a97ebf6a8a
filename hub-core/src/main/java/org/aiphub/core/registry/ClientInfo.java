package org.aiphub.core.registry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.json.JsonValues;

/**
 * Everything the registry knows about one online client. Immutable: a refresh of a device's system
 * info replaces the whole object. Routing reads features, tags and the platform key often, so they
 * are derived once here rather than on every query.
 *
 * <p>In a cluster, the registry also holds clients whose sockets other hub nodes hold ({@link
 * #mirrorOf}): those are described by their node, which merged its own device config into them.
 */
public final class ClientInfo {
  private final String clientId;
  private final ClientType clientType;
  // Look-ups hand this out instead of a new Optional each time: getClientInfo runs for nearly
  // every frame, and an allocation per call showed up as 4x the cost at 100k clients (JMH).
  // Declared next to clientType so both sit in the object's first cache line.
  private final Optional<ClientInfo> asOptional;
  private final ClientConnection connection;
  private final String platform;
  private final String platformKey;
  private final Instant connectedAt;
  private final Map<String, Object> metadata;
  private final Map<String, Object> reportedSystemInfo;
  private final Map<String, Object> systemInfo;
  private final int maxConcurrentTasks;
  private final Set<String> featureSet;
  private final Set<String> tagSet;
  private final boolean mirrored;

  /**
   * Describes a client.
   *
   * @param clientId the registered id
   * @param clientType device or constellation
   * @param connection the live connection
   * @param platform the platform the client reported ({@code windows} when absent), as sent
   * @param connectedAt when the registration was accepted
   * @param metadata the registration's {@code metadata} (frozen; empty when null)
   * @param reportedSystemInfo devices: the {@code system_info} the device itself sent, or null
   * @param systemInfo devices: the reported info merged with the device config, or null
   * @param maxConcurrentTasks devices: most sessions it may run at once; 0 means no limit
   */
  public ClientInfo(
      String clientId,
      ClientType clientType,
      ClientConnection connection,
      String platform,
      Instant connectedAt,
      Map<String, Object> metadata,
      Map<String, Object> reportedSystemInfo,
      Map<String, Object> systemInfo,
      int maxConcurrentTasks) {
    this(
        clientId,
        clientType,
        connection,
        platform,
        connectedAt,
        metadata,
        reportedSystemInfo,
        systemInfo,
        maxConcurrentTasks,
        false);
  }

  private ClientInfo(
      String clientId,
      ClientType clientType,
      ClientConnection connection,
      String platform,
      Instant connectedAt,
      Map<String, Object> metadata,
      Map<String, Object> reportedSystemInfo,
      Map<String, Object> systemInfo,
      int maxConcurrentTasks,
      boolean mirrored) {
    this.clientId = Objects.requireNonNull(clientId, "clientId");
    this.clientType = Objects.requireNonNull(clientType, "clientType");
    this.connection = Objects.requireNonNull(connection, "connection");
    this.platform = Objects.requireNonNull(platform, "platform");
    this.connectedAt = Objects.requireNonNull(connectedAt, "connectedAt");
    if (maxConcurrentTasks < 0) {
      throw new IllegalArgumentException("maxConcurrentTasks must be >= 0");
    }
    this.platformKey = platform.toLowerCase(Locale.ROOT);
    this.metadata = metadata == null ? JsonValues.emptyObject() : JsonValues.freezeObject(metadata);
    this.reportedSystemInfo = JsonValues.freezeObject(reportedSystemInfo);
    this.systemInfo = JsonValues.freezeObject(systemInfo);
    this.maxConcurrentTasks = maxConcurrentTasks;
    // Only compact sets are kept (this object exists once per device); the ordered lists are
    // derived from the system info when somebody asks, which routing never does. Sorted arrays,
    // not hash sets: the strings are the client's, and may all share one hash code.
    this.featureSet = SortedStrings.of(strings(this.systemInfo, "supported_features"));
    this.tagSet = SortedStrings.of(strings(this.systemInfo, "tags"));
    this.mirrored = mirrored;
    this.asOptional = Optional.of(this);
  }

  /**
   * Describes a client whose socket another hub node holds, as that node published it. The system
   * info is that node's merge, taken as given: this node's device config is not merged in, and a
   * reload of it leaves the entry alone.
   *
   * @param clientId the registered id
   * @param clientType device or constellation
   * @param connection stands for the socket on the other node
   * @param platform the platform the client reported ({@code windows} when absent), as sent
   * @param connectedAt when the other node accepted the registration
   * @param systemInfo devices: the merged system info the other node holds, or null
   * @param maxConcurrentTasks devices: the other node's limit for it; 0 means no limit
   */
  public static ClientInfo mirrorOf(
      String clientId,
      ClientType clientType,
      ClientConnection connection,
      String platform,
      Instant connectedAt,
      Map<String, Object> systemInfo,
      int maxConcurrentTasks) {
    boolean device = clientType == ClientType.DEVICE;
    return new ClientInfo(
        clientId,
        clientType,
        connection,
        platform,
        connectedAt,
        null,
        null,
        device ? systemInfo : null,
        device ? maxConcurrentTasks : 0,
        true);
  }

  /** This info as an {@code Optional}, one shared instance. */
  Optional<ClientInfo> asOptional() {
    return asOptional;
  }

  /** The registered id. */
  public String clientId() {
    return clientId;
  }

  /** Device or constellation. */
  public ClientType clientType() {
    return clientType;
  }

  /** The live connection. */
  public ClientConnection connection() {
    return connection;
  }

  /** The platform as the client reported it. */
  public String platform() {
    return platform;
  }

  /** The platform lower-cased, as indexes and queries compare it. */
  public String platformKey() {
    return platformKey;
  }

  /** When the registration was accepted. */
  public Instant connectedAt() {
    return connectedAt;
  }

  /** The registration's metadata (frozen, never null). */
  public Map<String, Object> metadata() {
    return metadata;
  }

  /** Devices: the {@code system_info} the device sent, or null. */
  public Map<String, Object> reportedSystemInfo() {
    return reportedSystemInfo;
  }

  /** Devices: the merged system info, or null. */
  public Map<String, Object> systemInfo() {
    return systemInfo;
  }

  /** Devices: most sessions it may run at once; 0 means no limit. */
  public int maxConcurrentTasks() {
    return maxConcurrentTasks;
  }

  /** Whether another hub node holds this client's socket and described it ({@link #mirrorOf}). */
  public boolean mirrored() {
    return mirrored;
  }

  /** True for device clients. */
  public boolean isDevice() {
    return clientType == ClientType.DEVICE;
  }

  /** The strings in {@code systemInfo.supported_features}, in order; empty when there are none. */
  public List<String> features() {
    return strings(systemInfo, "supported_features");
  }

  /** {@link #features()} as a set, for membership tests (no defined order). */
  public Set<String> featureSet() {
    return featureSet;
  }

  /** The strings in {@code systemInfo.tags}, in order; empty when there are none. */
  public List<String> tags() {
    return strings(systemInfo, "tags");
  }

  /** {@link #tags()} as a set, for membership tests (no defined order). */
  public Set<String> tagSet() {
    return tagSet;
  }

  private static List<String> strings(Map<String, Object> info, String key) {
    Object v = info == null ? null : info.get(key);
    if (!(v instanceof List)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) v) {
      if (o instanceof String) {
        out.add((String) o);
      }
    }
    return List.copyOf(out);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof ClientInfo)) {
      return false;
    }
    ClientInfo c = (ClientInfo) o;
    return maxConcurrentTasks == c.maxConcurrentTasks
        && mirrored == c.mirrored
        && clientId.equals(c.clientId)
        && clientType == c.clientType
        && connection.equals(c.connection)
        && platform.equals(c.platform)
        && connectedAt.equals(c.connectedAt)
        && metadata.equals(c.metadata)
        && Objects.equals(reportedSystemInfo, c.reportedSystemInfo)
        && Objects.equals(systemInfo, c.systemInfo);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        clientId, clientType, connection, platform, connectedAt, maxConcurrentTasks);
  }

  @Override
  public String toString() {
    return "ClientInfo[clientId="
        + clientId
        + ", clientType="
        + clientType
        + ", connection="
        + connection
        + ", platform="
        + platform
        + ", connectedAt="
        + connectedAt
        + ", maxConcurrentTasks="
        + maxConcurrentTasks
        + (mirrored ? ", mirrored" : "")
        + "]";
  }
}
