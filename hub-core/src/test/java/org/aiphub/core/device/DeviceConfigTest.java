package org.aiphub.core.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeviceConfigTest {
  @Test
  void emptyHasNoEntries() {
    assertThat(DeviceConfig.empty().devices()).isEmpty();
    assertThat(DeviceConfig.empty().source()).isEqualTo("(none)");
    assertThat(DeviceConfig.empty().entry("anything")).isNull();
  }

  @Test
  void entriesKeepFileOrderAndAreReadOnly() {
    Map<String, DeviceEntry> devices = new LinkedHashMap<>();
    for (String id : new String[] {"zeta", "alpha", "mid"}) {
      devices.put(id, DeviceEntry.of(id, Map.of("tier", id)));
    }
    DeviceConfig config = new DeviceConfig(devices, "/etc/hub/devices.yaml");
    devices.clear();

    assertThat(config.devices().keySet()).containsExactly("zeta", "alpha", "mid");
    assertThat(config.entry("alpha").tier()).isEqualTo("alpha");
    assertThat(config.entry("nope")).isNull();
    assertThat(config.source()).isEqualTo("/etc/hub/devices.yaml");
    assertThatThrownBy(() -> config.devices().remove("zeta"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> new DeviceConfig(Map.of(), null))
        .isInstanceOf(NullPointerException.class);
  }
}
