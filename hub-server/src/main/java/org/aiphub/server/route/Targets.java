package org.aiphub.server.route;

import java.util.Optional;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.server.directory.ClientDirectory;

/**
 * Finds the device a frame names as its target: in the local registry, else through the {@link
 * ClientDirectory} (which may enter a client held by another node before it answers). On a single
 * node the directory never knows more than the registry, so a miss is simply offline.
 */
final class Targets {
  /**
   * Why a target cannot be used.
   *
   * @param reason the refusal text
   * @param label the metrics label
   */
  record Miss(String reason, String label) {}

  private final ClientRegistry registry;
  private final ClientDirectory directory;

  Targets(ClientRegistry registry, ClientDirectory directory) {
    this.registry = registry;
    this.directory = directory;
  }

  /** Null when {@code target} is a device in the local registry; otherwise why not. */
  Miss device(String target) {
    if (registry.isDeviceConnected(target)) {
      return null;
    }
    Optional<ClientDirectory.Location> where = directory.locate(target);
    if (registry.isDeviceConnected(target)) {
      return null; // the directory entered it meanwhile
    }
    if (where.isPresent() && where.get().clientType() == ClientType.DEVICE) {
      return new Miss(
          "target device "
              + Text.quote(target)
              + " is connected to hub node "
              + Text.quote(where.get().node())
              + ", which this node cannot reach yet",
          "target_unreachable");
    }
    return new Miss("target device " + Text.quote(target) + " is not connected", "target_offline");
  }
}
