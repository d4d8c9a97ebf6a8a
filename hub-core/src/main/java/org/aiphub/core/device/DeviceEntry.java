package org.aiphub.core.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.aiphub.core.json.JsonValues;

/**
 * One device's entry under {@code devices:} in the device config: the settings exactly as written
 * (unknown keys included, they end up in the device's {@code custom_metadata}) plus the keys the
 * hub itself understands, validated.
 *
 * @param deviceId the device id the entry is for
 * @param settings the whole entry, frozen, in file order
 * @param tags {@code tags}, or {@code null} when absent
 * @param tier {@code tier}, or {@code null} when absent
 * @param additionalFeatures {@code additional_features}, or {@code null} when absent
 * @param maxConcurrentTasks {@code max_concurrent_tasks}, or {@code null} when absent
 */
public record DeviceEntry(
    String deviceId,
    Map<String, Object> settings,
    List<String> tags,
    String tier,
    List<String> additionalFeatures,
    Integer maxConcurrentTasks) {

  /** Freezes collections and checks the typed keys agree with {@code settings}. */
  public DeviceEntry {
    Objects.requireNonNull(deviceId, "deviceId");
    settings = JsonValues.freezeObject(Objects.requireNonNull(settings, "settings"));
    tags = JsonValues.freezeStrings(tags);
    additionalFeatures = JsonValues.freezeStrings(additionalFeatures);
    if (maxConcurrentTasks != null && maxConcurrentTasks < 1) {
      throw new IllegalArgumentException(
          "max_concurrent_tasks must be a positive integer, was " + maxConcurrentTasks);
    }
  }

  /**
   * Builds an entry from the raw settings of one device, validating the keys the hub reads.
   *
   * @throws IllegalArgumentException naming the key and the bad value
   */
  public static DeviceEntry of(String deviceId, Map<String, Object> settings) {
    Object tags = settings.get("tags");
    Object tier = settings.get("tier");
    Object features = settings.get("additional_features");
    Object limit = settings.get("max_concurrent_tasks");
    if (tier != null && !(tier instanceof String)) {
      throw new IllegalArgumentException("tier must be a string, was " + show(tier));
    }
    Integer max = null;
    if (limit != null) {
      if (!(limit instanceof Integer) || (Integer) limit < 1) {
        throw new IllegalArgumentException(
            "max_concurrent_tasks must be a positive integer, was " + show(limit));
      }
      max = (Integer) limit;
    }
    return new DeviceEntry(
        deviceId,
        settings,
        stringList("tags", tags),
        (String) tier,
        stringList("additional_features", features),
        max);
  }

  private static List<String> stringList(String key, Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof List)) {
      throw new IllegalArgumentException(key + " must be a list of strings, was " + show(value));
    }
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) value) {
      if (!(o instanceof String)) {
        throw new IllegalArgumentException(
            key + " must be a list of strings, has element " + show(o));
      }
      out.add((String) o);
    }
    return out;
  }

  static String show(Object value) {
    String s = String.valueOf(value);
    return s.length() > 60 ? s.substring(0, 60) + "..." : s;
  }
}
