package org.aiphub.server;

import java.nio.file.Path;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceConfigException;
import org.aiphub.core.device.DeviceConfigLoader;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.server.route.ClientIds;
import org.aiphub.server.route.Text;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the device config file and re-merges every online device's system info with it. A file
 * that fails to load changes nothing: the previous config stays in force.
 */
public final class DeviceConfigReloader {
  private static final Logger log = LoggerFactory.getLogger(DeviceConfigReloader.class);

  /**
   * What a reload did.
   *
   * @param source the file read
   * @param entries device entries in it
   * @param remerged online devices whose system info was re-merged
   */
  public record Result(String source, int entries, int remerged) {}

  private final Path file;
  private final ClientRegistry registry;
  private final Runnable reloaded;

  /**
   * A reloader for {@code file} (null when the hub runs without a device config).
   *
   * @param reloaded runs after each successful reload, on the reloading thread, and must not block:
   *     a re-merge changes online devices' tags, tier, features and task limit without any event,
   *     so whoever shows or publishes them (the dashboard, the cluster) must be told
   */
  public DeviceConfigReloader(Path file, ClientRegistry registry, Runnable reloaded) {
    this.file = file;
    this.registry = registry;
    this.reloaded = reloaded;
  }

  /** Whether a device config file is configured. */
  public boolean configured() {
    return file != null;
  }

  /**
   * Reloads. Serialised, since two overlapping reloads could otherwise install an older file last.
   *
   * @throws DeviceConfigException with the loader's message; the old config stays
   * @throws IllegalStateException when no file is configured
   */
  public synchronized Result reload() throws DeviceConfigException {
    if (file == null) {
      throw new IllegalStateException("no device config file is configured");
    }
    DeviceConfig config;
    try {
      config = DeviceConfigLoader.load(file);
    } catch (DeviceConfigException e) {
      log.warn("device config reload failed, previous config stays in force: {}", e.getMessage());
      throw e;
    }
    if (registry.folds() instanceof ClientIds) {
      warnAboutIds(config, (ClientIds) registry.folds());
    }
    int remerged = registry.applyDeviceConfig(config);
    reloaded.run();
    log.info(
        "device config reloaded from {}: {} entries, {} online devices re-merged",
        file,
        config.devices().size(),
        remerged);
    return new Result(file.toString(), config.devices().size(), remerged);
  }

  /**
   * Logs a warning for each device config entry no registration can match: an id the id rule
   * refuses, or one not in its stored form (under {@code unicode_ids}, an id not in NFC). Such an
   * entry is never merged into a device; with a {@code token_sha256} it still reserves its
   * look-alikes (fail closed). Ids are shown escaped.
   */
  static void warnAboutIds(DeviceConfig config, ClientIds ids) {
    for (String id : config.devices().keySet()) {
      String problem = ids.problem("device_config id", id);
      if (problem == null && !id.equals(ids.canonical(id))) {
        problem = "device_config id " + Text.quote(id) + " is not in Unicode normal form C";
      }
      if (problem != null) {
        log.warn("{}: no client can register with it (see the id rule in README.md)", problem);
      }
    }
  }
}
