package org.aiphub.core.device;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The server-side device config: extra tags, tier, features and limits per device id.
 *
 * @param devices entries by device id, read-only, in file order
 * @param source where the config came from (a path), or {@code "(none)"}
 */
public record DeviceConfig(Map<String, DeviceEntry> devices, String source) {
  private static final DeviceConfig EMPTY = new DeviceConfig(Map.of(), "(none)");

  /** Copies {@code devices} into a read-only, order-keeping map. */
  public DeviceConfig {
    Objects.requireNonNull(source, "source");
    devices = Collections.unmodifiableMap(new LinkedHashMap<>(devices));
  }

  /** A config with no device entries. */
  public static DeviceConfig empty() {
    return EMPTY;
  }

  /** The entry for {@code deviceId}, or {@code null} when the config has none. */
  public DeviceEntry entry(String deviceId) {
    return devices.get(deviceId);
  }
}
