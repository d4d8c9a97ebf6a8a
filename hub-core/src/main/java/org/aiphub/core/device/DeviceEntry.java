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
 * @param tokenSha256 {@code token_sha256}: lower-case hex SHA-256 of the token a client must
 *     present to register with this id, or {@code null} when the shared key is enough
 */
public record DeviceEntry(
    String deviceId,
    Map<String, Object> settings,
    List<String> tags,
    String tier,
    List<String> additionalFeatures,
    Integer maxConcurrentTasks,
    String tokenSha256) {

  /** The settings key holding a per-client token hash; never merged into system info. */
  public static final String TOKEN_KEY = "token_sha256";

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
    if (tokenSha256 != null && !tokenSha256.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          TOKEN_KEY + " must be 64 lower-case hex digits (a SHA-256 digest)");
    }
  }

  /** The settings without the token hash: what may be merged into visible system info. */
  public Map<String, Object> visibleSettings() {
    if (!settings.containsKey(TOKEN_KEY)) {
      return settings;
    }
    Map<String, Object> copy = new java.util.LinkedHashMap<>(settings);
    copy.remove(TOKEN_KEY);
    return JsonValues.freezeObject(copy);
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
    Object token = settings.get(TOKEN_KEY);
    if (token != null && !(token instanceof String)) {
      // The value is a secret's digest: name the key, never echo the value.
      throw new IllegalArgumentException(TOKEN_KEY + " must be a string of 64 hex digits");
    }
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
        max,
        token == null ? null : ((String) token).toLowerCase(java.util.Locale.ROOT));
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
