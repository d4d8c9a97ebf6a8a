package org.aiphub.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistryStatsTest {
  @Test
  void toMapHasTheReferenceKeysFirstAndSortedPlatforms() {
    Map<String, Integer> platforms = new HashMap<>();
    platforms.put("windows", 2);
    platforms.put("android", 1);
    platforms.put("linux", 4);
    RegistryStats stats = new RegistryStats(9, 7, 2, platforms, 5);
    platforms.put("macos", 1);

    assertThat(stats.devicesByPlatform()).containsOnlyKeys("windows", "android", "linux");
    assertThatThrownBy(() -> stats.devicesByPlatform().put("x", 1))
        .isInstanceOf(UnsupportedOperationException.class);
    Map<String, Object> map = stats.toMap();
    assertThat(map.keySet())
        .containsExactly(
            "total",
            "device_clients",
            "constellation_clients",
            "devices_by_platform",
            "running_sessions");
    assertThat(map.get("total")).isEqualTo(9);
    assertThat(map.get("device_clients")).isEqualTo(7);
    assertThat(map.get("constellation_clients")).isEqualTo(2);
    assertThat(map.get("running_sessions")).isEqualTo(5);
    assertThat(map.get("devices_by_platform"))
        .isEqualTo(Map.of("windows", 2, "android", 1, "linux", 4));
    assertThat(new ArrayList<Object>(((Map<?, ?>) map.get("devices_by_platform")).keySet()))
        .containsExactly("android", "linux", "windows");
  }
}
