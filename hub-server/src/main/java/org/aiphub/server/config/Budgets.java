package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.MAX_CLIENT_INFO_BYTES;
import static org.aiphub.server.config.Settings.MAX_DEVICE_FEATURES;
import static org.aiphub.server.config.Settings.MAX_DEVICE_FEATURE_LENGTH;
import static org.aiphub.server.config.Settings.MAX_JSON_TOKENS;

import org.aiphub.core.registry.ClientInfoLimits;

/**
 * What one client's frame may cost to decode, and what the hub caches for one client: the JSON
 * tokens of a frame, the size of a registration's metadata and of a reported system_info, and the
 * number and length of a device's features and tags (each one a key of the capability index). Over
 * a limit, only that client's frame or registration is refused.
 *
 * @param maxJsonTokens most JSON tokens (values, names, brackets) in one client frame
 * @param maxClientInfoBytes most bytes of compact JSON in a registration's metadata, or in the
 *     system_info of a device_info_response
 * @param maxDeviceFeatures most entries in system_info.supported_features, and in its tags
 * @param maxDeviceFeatureLength most characters of one feature or tag
 */
public record Budgets(
    int maxJsonTokens, int maxClientInfoBytes, int maxDeviceFeatures, int maxDeviceFeatureLength) {

  /** Checks every value against its rules in {@link Settings}. */
  public Budgets {
    MAX_JSON_TOKENS.check(maxJsonTokens);
    MAX_CLIENT_INFO_BYTES.check(maxClientInfoBytes);
    MAX_DEVICE_FEATURES.check(maxDeviceFeatures);
    MAX_DEVICE_FEATURE_LENGTH.check(maxDeviceFeatureLength);
  }

  static Budgets from(HubConfig.Builder b) {
    return new Budgets(
        b.get(MAX_JSON_TOKENS),
        b.get(MAX_CLIENT_INFO_BYTES),
        b.get(MAX_DEVICE_FEATURES),
        b.get(MAX_DEVICE_FEATURE_LENGTH));
  }

  /** The registry's view of the per-client cache limits. */
  public ClientInfoLimits clientInfoLimits() {
    return new ClientInfoLimits(maxClientInfoBytes, maxDeviceFeatures, maxDeviceFeatureLength);
  }
}
