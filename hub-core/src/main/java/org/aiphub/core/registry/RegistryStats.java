package org.aiphub.core.registry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of the registry's counters.
 *
 * @param total online clients
 * @param deviceClients online devices
 * @param constellationClients online constellations
 * @param devicesByPlatform online devices per lower-cased platform
 * @param runningSessions sessions currently mapped to a device or an owner
 */
public record RegistryStats(
    int total,
    int deviceClients,
    int constellationClients,
    Map<String, Integer> devicesByPlatform,
    int runningSessions) {

  /** Copies the platform counts. */
  public RegistryStats {
    devicesByPlatform = Map.copyOf(devicesByPlatform);
  }

  /**
   * The reference server's {@code get_stats()} keys ({@code total}, {@code device_clients}, {@code
   * constellation_clients}) plus {@code devices_by_platform} and {@code running_sessions}.
   */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("total", total);
    m.put("device_clients", deviceClients);
    m.put("constellation_clients", constellationClients);
    m.put("devices_by_platform", new java.util.TreeMap<>(devicesByPlatform));
    m.put("running_sessions", runningSessions);
    return m;
  }
}
