package org.aiphub.core.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DeviceEntryTest {
  @Test
  void ofReadsTheKnownKeysAndKeepsEverySetting() {
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("tags", List.of("prod", "office"));
    settings.put("tier", "gold");
    settings.put("additional_features", List.of("excel"));
    settings.put("max_concurrent_tasks", 4);
    settings.put("rack", Map.of("row", 3));

    DeviceEntry e = DeviceEntry.of("d1", settings);

    assertThat(e.deviceId()).isEqualTo("d1");
    assertThat(e.tags()).containsExactly("prod", "office");
    assertThat(e.tier()).isEqualTo("gold");
    assertThat(e.additionalFeatures()).containsExactly("excel");
    assertThat(e.maxConcurrentTasks()).isEqualTo(4);
    assertThat(e.settings()).isEqualTo(settings);
    assertThat(e.settings().keySet())
        .containsExactly("tags", "tier", "additional_features", "max_concurrent_tasks", "rack");
    settings.put("later", 1);
    assertThat(e.settings()).doesNotContainKey("later");
    assertThatThrownBy(() -> e.settings().put("x", 1))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> e.tags().add("x")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void absentKeysAreNull() {
    DeviceEntry e = DeviceEntry.of("d1", Map.of("owner", "ops"));
    assertThat(e.tags()).isNull();
    assertThat(e.tier()).isNull();
    assertThat(e.additionalFeatures()).isNull();
    assertThat(e.maxConcurrentTasks()).isNull();
    assertThat(e.settings()).isEqualTo(Map.of("owner", "ops"));
  }

  static Stream<Arguments> badValues() {
    return Stream.of(
        Arguments.of("tags", "prod", "prod"),
        Arguments.of("tags", Arrays.asList("prod", 7), "7"),
        Arguments.of("tags", Map.of("a", "b"), "{a=b}"),
        Arguments.of("tier", 3, "3"),
        Arguments.of("tier", List.of("gold"), "[gold]"),
        Arguments.of("additional_features", "excel", "excel"),
        Arguments.of("additional_features", List.of(List.of("x")), "[x]"),
        Arguments.of("max_concurrent_tasks", "five", "five"),
        Arguments.of("max_concurrent_tasks", 0, "0"),
        Arguments.of("max_concurrent_tasks", -2, "-2"),
        Arguments.of("max_concurrent_tasks", 2.5, "2.5"),
        Arguments.of("max_concurrent_tasks", true, "true"),
        Arguments.of("max_concurrent_tasks", 5_000_000_000L, "5000000000"));
  }

  @ParameterizedTest
  @MethodSource("badValues")
  void aWrongTypeNamesTheKeyAndTheValue(String key, Object value, String shown) {
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put(key, value);
    assertThatThrownBy(() -> DeviceEntry.of("d1", settings))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(key)
        .hasMessageContaining(shown);
  }

  @Test
  void longValuesAreShortenedInMessages() {
    String huge = "x".repeat(10_000);
    assertThatThrownBy(() -> DeviceEntry.of("d1", Map.of("tier", List.of(huge))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tier")
        .hasMessageContaining("...")
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
  }

  @Test
  void theConstructorRefusesANonPositiveLimit() {
    assertThatThrownBy(() -> new DeviceEntry("d", Map.of(), null, null, null, 0, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max_concurrent_tasks");
    assertThatThrownBy(() -> new DeviceEntry(null, Map.of(), null, null, null, null, null))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new DeviceEntry("d", null, null, null, null, null, null))
        .isInstanceOf(NullPointerException.class);
  }
}
