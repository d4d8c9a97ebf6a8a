package org.aiphub.core.registry;

import java.util.List;
import java.util.Map;
import org.aiphub.core.json.JsonValues;

/**
 * What the registry caches for one client at most: the JSON size of its registration {@code
 * metadata} (which holds a device's {@code system_info}) and of each {@code system_info} a device
 * reports later, and the number and length of the strings in {@code supported_features} and {@code
 * tags}, which become keys of the capability index. A real UFO registration is 0.5-2 KB with a
 * dozen features; the defaults leave ample room for that and keep what one socket can make the hub
 * hold to a few hundred kilobytes. Each limit is named by the hub's config key for it.
 *
 * @param maxInfoBytes largest {@code metadata} (registration) or {@code system_info} ({@code
 *     device_info_response}), in bytes of compact UTF-8 JSON
 * @param maxFeatures most entries of {@code system_info.supported_features}, and of {@code
 *     system_info.tags}
 * @param maxFeatureLength most characters of one feature or tag
 */
public record ClientInfoLimits(long maxInfoBytes, int maxFeatures, int maxFeatureLength) {
  /** Config key of {@link #maxInfoBytes}. */
  public static final String MAX_INFO_BYTES = "max_client_info_bytes";

  /** Config key of {@link #maxFeatures}. */
  public static final String MAX_FEATURES = "max_device_features";

  /** Config key of {@link #maxFeatureLength}. */
  public static final String MAX_FEATURE_LENGTH = "max_device_feature_length";

  /** The hub's defaults: 16 KiB, 256 features or tags, 128 characters each. */
  public static final ClientInfoLimits DEFAULTS = new ClientInfoLimits(16 * 1024, 256, 128);

  /** Checks that every limit is positive. */
  public ClientInfoLimits {
    if (maxInfoBytes < 1 || maxFeatures < 1 || maxFeatureLength < 1) {
      throw new IllegalArgumentException("client info limits must be positive");
    }
  }

  /**
   * Checks a registration's metadata (and, for a device, the {@code system_info} in it).
   *
   * @throws ClientInfoLimitException naming the first limit it passes
   */
  public void checkMetadata(Map<String, Object> metadata, boolean device) {
    if (metadata == null) {
      return;
    }
    // The lists first: their message says more than the size's, and costs less to find.
    if (device && metadata.get("system_info") instanceof Map) {
      @SuppressWarnings("unchecked")
      Map<String, Object> si = (Map<String, Object>) metadata.get("system_info");
      checkLists(si);
    }
    checkSize("metadata", metadata);
  }

  /**
   * Checks the {@code system_info} of a {@code device_info_response}.
   *
   * @throws ClientInfoLimitException naming the first limit it passes
   */
  public void checkSystemInfo(Map<String, Object> systemInfo) {
    if (systemInfo == null) {
      return;
    }
    checkLists(systemInfo);
    checkSize("metadata.system_info", systemInfo);
  }

  private void checkSize(String what, Map<String, Object> value) {
    if (JsonValues.encodedLength(value, maxInfoBytes) > maxInfoBytes) {
      throw new ClientInfoLimitException(
          MAX_INFO_BYTES,
          what + " takes more than " + maxInfoBytes + " bytes of JSON (" + MAX_INFO_BYTES + ")");
    }
  }

  private void checkLists(Map<String, Object> systemInfo) {
    for (String key : new String[] {"supported_features", "tags"}) {
      Object v = systemInfo.get(key);
      if (!(v instanceof List)) {
        continue;
      }
      List<?> list = (List<?>) v;
      String where = "metadata.system_info." + key;
      if (list.size() > maxFeatures) {
        throw new ClientInfoLimitException(
            MAX_FEATURES,
            where
                + " has "
                + list.size()
                + " entries, more than "
                + MAX_FEATURES
                + " ("
                + maxFeatures
                + ")");
      }
      for (int i = 0; i < list.size(); i++) {
        Object o = list.get(i);
        if (o instanceof String && ((String) o).length() > maxFeatureLength) {
          throw new ClientInfoLimitException(
              MAX_FEATURE_LENGTH,
              where
                  + "["
                  + i
                  + "] has "
                  + ((String) o).length()
                  + " characters, more than "
                  + MAX_FEATURE_LENGTH
                  + " ("
                  + maxFeatureLength
                  + ")");
        }
      }
    }
  }
}
