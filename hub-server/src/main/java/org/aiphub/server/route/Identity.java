package org.aiphub.server.route;

import java.util.Objects;
import org.aiphub.core.aip.ClientType;

/**
 * Who a connection registered as. Handlers use this, never the identity fields of later frames.
 *
 * @param clientId the registered id
 * @param clientType device or constellation
 * @param targetId constellations: the device it declared at registration, or {@code null}
 */
public record Identity(String clientId, ClientType clientType, String targetId) {
  /** Validates required fields. */
  public Identity {
    Objects.requireNonNull(clientId, "clientId");
    Objects.requireNonNull(clientType, "clientType");
  }

  /** True for devices. */
  public boolean isDevice() {
    return clientType == ClientType.DEVICE;
  }
}
