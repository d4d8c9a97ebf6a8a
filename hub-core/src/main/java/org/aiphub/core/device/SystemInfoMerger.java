package org.aiphub.core.device;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.aiphub.core.json.JsonValues;

/**
 * Merges a device's reported {@code system_info} with its device-config entry, with the reference
 * server's rule:
 *
 * <ol>
 *   <li>start from a copy of the reported info (absent: empty);
 *   <li>{@code custom_metadata} = the reported {@code custom_metadata} (or empty) updated with the
 *       whole config entry, except a {@code token_sha256} credential;
 *   <li>when the report has {@code supported_features} and the entry {@code additional_features},
 *       {@code supported_features} becomes their union (reported order first, no duplicates);
 *   <li>when the entry has {@code tags}, they become {@code tags}.
 * </ol>
 *
 * Where the reference would crash on a malformed report (a {@code custom_metadata} that is not an
 * object, {@code supported_features} that is not a list), the malformed value is replaced or left
 * alone instead.
 */
public final class SystemInfoMerger {
  private SystemInfoMerger() {}

  /**
   * The merged system info.
   *
   * @param reported what the device sent, or {@code null}
   * @param entry its config entry, or {@code null}
   * @return {@code reported} itself (possibly {@code null}) when there is no entry, else a new
   *     frozen object
   */
  public static Map<String, Object> merge(Map<String, Object> reported, DeviceEntry entry) {
    if (entry == null) {
      return reported;
    }
    LinkedHashMap<String, Object> merged = JsonValues.mutableCopy(reported);

    Object reportedCustom = merged.get("custom_metadata");
    LinkedHashMap<String, Object> custom =
        reportedCustom instanceof Map
            ? JsonValues.mutableCopy(asObject(reportedCustom))
            : new LinkedHashMap<>();
    custom.putAll(entry.visibleSettings()); // a token hash must never reach clients
    merged.put("custom_metadata", JsonValues.adopt(custom));

    Object features = merged.get("supported_features");
    if (features instanceof List && entry.additionalFeatures() != null) {
      LinkedHashSet<Object> union = new LinkedHashSet<>((List<?>) features);
      union.addAll(entry.additionalFeatures());
      merged.put("supported_features", new ArrayList<>(union));
    }
    if (entry.tags() != null) {
      merged.put("tags", entry.tags());
    }
    return JsonValues.adopt(merged);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asObject(Object o) {
    return (Map<String, Object>) o;
  }
}
