package org.aiphub.core.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceEntry;

/** Small builders shared by the registry tests. */
final class RegistryTestSupport {
  private RegistryTestSupport() {}

  /** A reported system_info with these supported_features (mutable, like a decoded frame). */
  static Map<String, Object> systemInfo(String... features) {
    Map<String, Object> si = new LinkedHashMap<>();
    si.put("supported_features", new ArrayList<>(List.of(features)));
    return si;
  }

  /** Registration metadata carrying {@code systemInfo}. */
  static Map<String, Object> meta(Map<String, Object> systemInfo) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("system_info", systemInfo);
    return m;
  }

  /** Registration metadata of a device reporting these features. */
  static Map<String, Object> metaWith(String... features) {
    return meta(systemInfo(features));
  }

  /** A device config built from {@code id, settings, id, settings, ...}. */
  static DeviceConfig config(Object... idsAndSettings) {
    Map<String, DeviceEntry> devices = new LinkedHashMap<>();
    for (int i = 0; i < idsAndSettings.length; i += 2) {
      String id = (String) idsAndSettings[i];
      @SuppressWarnings("unchecked")
      Map<String, Object> settings = (Map<String, Object>) idsAndSettings[i + 1];
      devices.put(id, DeviceEntry.of(id, settings));
    }
    return new DeviceConfig(devices, "(test)");
  }
}
