package org.aiphub.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.json.JsonValues;

/**
 * Registration metadata for synthetic devices, shaped like the reference device's ({@code
 * client-register-device.json}): about 0.5 KB of {@code system_info} per device, so the registry
 * holds what it holds in production and the capability index is populated.
 *
 * <p>The maps come back frozen, as the codec hands them to the registry in the hub, so a benchmark
 * that registers a device pays what the hub pays and not an extra defensive copy.
 */
public final class DeviceMetadata {
  private static final Map<String, Object> TEMPLATE = template();

  private DeviceMetadata() {}

  /**
   * Metadata for device number {@code n}.
   *
   * @param n distinguishes host names, addresses and sizes
   * @param deviceId the id the device registers under
   * @param platform its platform, e.g. {@code windows}
   * @param features its {@code supported_features}
   * @param tags its {@code tags} (left out when empty); in the hub these usually come from the
   *     device config, which puts them at the same place in the merged system info
   */
  public static Map<String, Object> forDevice(
      int n, String deviceId, String platform, List<String> features, List<String> tags) {
    LinkedHashMap<String, Object> metadata = JsonValues.mutableCopy(TEMPLATE);
    @SuppressWarnings("unchecked")
    Map<String, Object> reported = (Map<String, Object>) TEMPLATE.get("system_info");
    LinkedHashMap<String, Object> si = JsonValues.mutableCopy(reported);
    si.put("device_id", deviceId);
    si.put("platform", platform);
    si.put("os_version", osVersion(platform, n));
    si.put("cpu_count", 2 << (n % 4));
    si.put("memory_total_gb", 7.8 + (n % 8) * 4);
    si.put("hostname", platform.toUpperCase(java.util.Locale.ROOT) + "-HOST-" + n);
    si.put("ip_address", "10." + ((n >>> 16) & 255) + "." + ((n >>> 8) & 255) + "." + (n & 255));
    si.put("supported_features", List.copyOf(features));
    if (!tags.isEmpty()) {
      si.put("tags", List.copyOf(tags));
    }
    metadata.put("system_info", JsonValues.adopt(si));
    metadata.put("platform", platform);
    return JsonValues.adopt(metadata);
  }

  private static String osVersion(String platform, int n) {
    switch (platform) {
      case "windows":
        return "10.0." + (19045 + n % 3600);
      case "linux":
        return "6." + (n % 12) + ".0-" + (n % 90) + "-generic";
      default:
        return "14." + (n % 7) + "." + (n % 3);
    }
  }

  private static Map<String, Object> template() {
    try {
      Map<String, Object> m =
          new AipCodec().decodeClient(Fixtures.bytes("client-register-device.json")).metadata();
      if (!(m.get("system_info") instanceof Map)) {
        throw new IllegalStateException("client-register-device.json has no system_info object");
      }
      return m;
    } catch (AipDecodeException e) {
      throw new IllegalStateException("client-register-device.json does not decode", e);
    }
  }
}
