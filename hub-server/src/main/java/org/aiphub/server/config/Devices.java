package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.aiphub.server.config.Settings.UNICODE_IDS;

import java.nio.file.Path;
import org.aiphub.core.registry.DuplicatePolicy;

/**
 * Where device settings come from, which client ids are accepted, and what a second registration of
 * an online id gets.
 *
 * @param configFile device config file, or {@code null} for none
 * @param duplicatePolicy what a registration with an online id gets
 * @param unicodeIds whether ids may hold letters and digits of any script ({@code unicode_ids})
 */
public record Devices(Path configFile, DuplicatePolicy duplicatePolicy, boolean unicodeIds) {

  /** Checks that there is a policy. */
  public Devices {
    DEVICE_CONFIG.check(configFile);
    DUPLICATE_POLICY.check(duplicatePolicy);
  }

  static Devices from(HubConfig.Builder b) {
    return new Devices(b.get(DEVICE_CONFIG), b.get(DUPLICATE_POLICY), b.get(UNICODE_IDS));
  }
}
