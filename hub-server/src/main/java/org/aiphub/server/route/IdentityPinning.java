package org.aiphub.server.route;

import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;

/**
 * Checks every frame after registration against the identity bound at registration
 * (docs/PROTOCOL.md, "Identity pinning"). An absent {@code client_id} is not a mismatch. A {@code
 * heartbeat} is checked on {@code client_id} only: the reference heartbeat never sets {@code
 * client_type}, so Galaxy's constellation heartbeats say {@code device}, and a heartbeat grants
 * nothing.
 */
public final class IdentityPinning {
  private IdentityPinning() {}

  /** The reason to refuse {@code m}, or {@code null} when it matches {@code bound}. */
  public static String mismatch(Identity bound, ClientMessage m) {
    if (m.clientId() != null && !m.clientId().equals(bound.clientId())) {
      return "client_id "
          + Text.quote(m.clientId())
          + " does not match the registered id "
          + Text.quote(bound.clientId());
    }
    if (m.type() != ClientMessageType.HEARTBEAT && m.clientType() != bound.clientType()) {
      return "client_type '"
          + m.clientType().wire()
          + "' does not match the registered type '"
          + bound.clientType().wire()
          + "'";
    }
    return null;
  }
}
