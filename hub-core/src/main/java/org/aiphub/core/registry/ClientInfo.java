package org.aiphub.core.registry;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.json.JsonValues;

/**
 * Everything the registry knows about one online client. Immutable: a refresh of a device's system
 * info replaces the whole record.
 *
 * @param clientId the registered id
 * @param clientType device or constellation
 * @param connection the live connection
 * @param platform the platform the client reported ({@code windows} when absent), as sent
 * @param connectedAt when the registration was accepted
 * @param metadata the registration's {@code metadata}, frozen (empty when absent)
 * @param reportedSystemInfo devices: the {@code system_info} the device itself sent, or null
 * @param systemInfo devices: the reported info merged with the device config, or null
 * @param maxConcurrentTasks devices: most sessions it may run at once; 0 means no limit
 */
public record ClientInfo(
    String clientId,
    ClientType clientType,
    ClientConnection connection,
    String platform,
    Instant connectedAt,
    Map<String, Object> metadata,
    Map<String, Object> reportedSystemInfo,
    Map<String, Object> systemInfo,
    int maxConcurrentTasks) {

  /** Validates required fields and freezes the JSON values. */
  public ClientInfo {
    Objects.requireNonNull(clientId, "clientId");
    Objects.requireNonNull(clientType, "clientType");
    Objects.requireNonNull(connection, "connection");
    Objects.requireNonNull(platform, "platform");
    Objects.requireNonNull(connectedAt, "connectedAt");
    metadata = metadata == null ? JsonValues.emptyObject() : JsonValues.freezeObject(metadata);
    reportedSystemInfo = JsonValues.freezeObject(reportedSystemInfo);
    systemInfo = JsonValues.freezeObject(systemInfo);
    if (maxConcurrentTasks < 0) {
      throw new IllegalArgumentException("maxConcurrentTasks must be >= 0");
    }
  }

  /** True for device clients. */
  public boolean isDevice() {
    return clientType == ClientType.DEVICE;
  }

  /** The strings in {@code systemInfo.supported_features}; empty when there are none. */
  public List<String> features() {
    return strings("supported_features");
  }

  /** The strings in {@code systemInfo.tags}; empty when there are none. */
  public List<String> tags() {
    return strings("tags");
  }

  private List<String> strings(String key) {
    Object v = systemInfo == null ? null : systemInfo.get(key);
    if (!(v instanceof List)) {
      return List.of();
    }
    List<?> raw = (List<?>) v;
    String[] out = new String[raw.size()];
    int n = 0;
    for (Object o : raw) {
      if (o instanceof String) {
        out[n++] = (String) o;
      }
    }
    return List.of(java.util.Arrays.copyOf(out, n));
  }
}
