package org.aiphub.core.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The merge rule of docs/ARCHITECTURE.md, "Device config merge", one clause at a time. */
class SystemInfoMergerTest {
  private static DeviceEntry entry(Map<String, Object> settings) {
    return DeviceEntry.of("dev", settings);
  }

  private static Map<String, Object> reported() {
    Map<String, Object> custom = new LinkedHashMap<>();
    custom.put("owner", "alice");
    custom.put("tier", "basic");
    Map<String, Object> si = new LinkedHashMap<>();
    si.put("device_id", "dev");
    si.put("cpu_count", 8);
    si.put("supported_features", new ArrayList<>(List.of("gui", "cli")));
    si.put("tags", new ArrayList<>(List.of("reported")));
    si.put("custom_metadata", custom);
    return si;
  }

  @Test
  void withoutAnEntryTheReportIsReturnedUnchanged() {
    Map<String, Object> si = reported();
    assertThat(SystemInfoMerger.merge(si, null)).isSameAs(si);
    assertThat(si).isEqualTo(reported());
    assertThat(SystemInfoMerger.merge(null, null)).isNull();
  }

  @Test
  void anAbsentReportCountsAsEmptyWhenThereIsAnEntry() {
    DeviceEntry e =
        entry(
            Map.of(
                "tags", List.of("prod"),
                "additional_features", List.of("excel"),
                "tier", "gold"));
    Map<String, Object> merged = SystemInfoMerger.merge(null, e);
    assertThat(merged).containsOnlyKeys("custom_metadata", "tags");
    assertThat(merged.get("custom_metadata")).isEqualTo(e.settings());
    assertThat(merged.get("tags")).isEqualTo(List.of("prod"));
    // additional_features alone never create supported_features
    assertThat(merged).doesNotContainKey("supported_features");
    assertThat(SystemInfoMerger.merge(Map.of(), e)).isEqualTo(merged);
  }

  @Test
  void anEmptyEntryStillAddsCustomMetadata() {
    Map<String, Object> merged = SystemInfoMerger.merge(Map.of("a", 1), entry(Map.of()));
    assertThat(merged).isEqualTo(Map.of("a", 1, "custom_metadata", Map.of()));
  }

  @Test
  void customMetadataIsTheReportedOneUpdatedWithTheWholeEntry() {
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("tier", "gold");
    settings.put("tags", List.of("prod"));
    settings.put("max_concurrent_tasks", 3);
    settings.put("rack", "B-12"); // a key the hub does not know
    Map<String, Object> merged = SystemInfoMerger.merge(reported(), entry(settings));

    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("owner", "alice");
    expected.put("tier", "gold");
    expected.put("tags", List.of("prod"));
    expected.put("max_concurrent_tasks", 3);
    expected.put("rack", "B-12");
    assertThat(merged.get("custom_metadata")).isEqualTo(expected);
  }

  @Test
  void aReportedCustomMetadataThatIsNotAnObjectIsReplaced() {
    Map<String, Object> si = new LinkedHashMap<>();
    si.put("custom_metadata", "oops");
    Map<String, Object> merged = SystemInfoMerger.merge(si, entry(Map.of("tier", "gold")));
    assertThat(merged.get("custom_metadata")).isEqualTo(Map.of("tier", "gold"));
  }

  @Test
  void supportedFeaturesBecomeTheUnionWhenBothListsExist() {
    Map<String, Object> merged =
        SystemInfoMerger.merge(
            reported(), entry(Map.of("additional_features", List.of("cli", "excel", "pdf"))));
    @SuppressWarnings("unchecked")
    List<Object> features = (List<Object>) merged.get("supported_features");
    assertThat(features).doesNotHaveDuplicates();
    assertThat(features).containsExactlyInAnyOrder("gui", "cli", "excel", "pdf");
  }

  @Test
  void withoutAdditionalFeaturesTheReportedListStays() {
    Map<String, Object> merged = SystemInfoMerger.merge(reported(), entry(Map.of("tier", "x")));
    assertThat(merged.get("supported_features")).isEqualTo(List.of("gui", "cli"));
  }

  @Test
  void withoutReportedFeaturesAdditionalFeaturesAreNotAdded() {
    Map<String, Object> si = reported();
    si.remove("supported_features");
    Map<String, Object> merged =
        SystemInfoMerger.merge(si, entry(Map.of("additional_features", List.of("excel"))));
    assertThat(merged).doesNotContainKey("supported_features");
    // a reported value that is not a list is left alone rather than crashing
    si.put("supported_features", "gui");
    merged = SystemInfoMerger.merge(si, entry(Map.of("additional_features", List.of("excel"))));
    assertThat(merged.get("supported_features")).isEqualTo("gui");
  }

  @Test
  void entryTagsReplaceReportedTags() {
    Map<String, Object> merged =
        SystemInfoMerger.merge(reported(), entry(Map.of("tags", List.of("prod", "office"))));
    assertThat(merged.get("tags")).isEqualTo(List.of("prod", "office"));
    Map<String, Object> untouched = SystemInfoMerger.merge(reported(), entry(Map.of("tier", "x")));
    assertThat(untouched.get("tags")).isEqualTo(List.of("reported"));
  }

  @Test
  void everyOtherReportedKeyIsKept() {
    Map<String, Object> merged =
        SystemInfoMerger.merge(reported(), entry(Map.of("tags", List.of("prod"))));
    assertThat(merged)
        .containsEntry("device_id", "dev")
        .containsEntry("cpu_count", 8)
        .containsOnlyKeys(
            "device_id", "cpu_count", "supported_features", "tags", "custom_metadata");
  }

  @Test
  void theInputsAreNotModifiedAndTheResultIsReadOnly() {
    Map<String, Object> si = reported();
    Map<String, Object> merged =
        SystemInfoMerger.merge(
            si,
            entry(
                Map.of(
                    "tier", "gold",
                    "tags", List.of("prod"),
                    "additional_features", List.of("excel"))));
    // the reference server updates the reported custom_metadata in place; this one must not
    assertThat(si).isEqualTo(reported());
    assertThatThrownBy(() -> merged.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
    @SuppressWarnings("unchecked")
    Map<String, Object> custom = (Map<String, Object>) merged.get("custom_metadata");
    assertThatThrownBy(() -> custom.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
    @SuppressWarnings("unchecked")
    List<Object> features = (List<Object>) merged.get("supported_features");
    assertThatThrownBy(() -> features.add("x")).isInstanceOf(UnsupportedOperationException.class);
  }
}
