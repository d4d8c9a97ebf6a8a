package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;

import java.nio.file.Path;
import org.aiphub.core.registry.DuplicatePolicy;

/**
 * Where device settings come from and what a second registration of an online id gets.
 *
 * @param configFile device config file, or {@code null} for none
 * @param duplicatePolicy what a registration with an online id gets
 */
public record Devices(Path configFile, DuplicatePolicy duplicatePolicy) {

  /** Checks that there is a policy. */
  public Devices {
    DEVICE_CONFIG.check(configFile);
    DUPLICATE_POLICY.check(duplicatePolicy);
  }

  static Devices from(HubConfig.Builder b) {
    return new Devices(b.get(DEVICE_CONFIG), b.get(DUPLICATE_POLICY));
  }
}
