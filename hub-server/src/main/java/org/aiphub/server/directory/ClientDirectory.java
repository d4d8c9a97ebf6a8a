package org.aiphub.server.directory;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.registry.ClientConnection;

/**
 * Who holds a client id across the whole hub: the router's collaborator for ids, consulted before a
 * registration is answered. On one node every id is local and {@link #singleNode()} answers at
 * once; a cluster's directory keeps the authoritative record where every node sees it (e.g. in
 * Redis).
 *
 * <p>The router asks in this order: {@link #claim} after a registration passed its own checks and
 * before the registry enters the client (so nothing is routed to a client whose claim is still
 * open); {@link #release} when a claimed registration is refused after all, or abandoned, and when
 * a registered client leaves; {@link #locate} when a task names a target the local registry does
 * not hold. Every method may be called on any thread, an event loop included: none may block, and
 * {@link #claim} must complete within a bounded time (an implementation that cannot reach its store
 * completes exceptionally or with a refusal; the router then refuses the registration).
 */
public interface ClientDirectory {
  /** The directory of a hub that is one node: every id is local, so every claim succeeds. */
  static ClientDirectory singleNode() {
    return SingleNodeDirectory.INSTANCE;
  }

  /**
   * Claims {@code claimant}'s id for this node. Completes with {@link Claimed} when no other node
   * holds the id (an id held on this node is the local registry's business: it then applies its
   * duplicate policy), or {@link HeldElsewhere} naming the node whose live client keeps it. Under
   * the takeover policy an implementation may take the id over from the other node (closing the
   * holder there) and answer {@link Claimed}; before answering {@link HeldElsewhere} it may have
   * the holder's node probe a holder that looks half-open.
   *
   * @return the outcome; it may complete on any thread
   */
  CompletionStage<Claim> claim(Claimant claimant);

  /**
   * Gives up this node's claim on {@code clientId} made for {@code connection}; nothing happens
   * when the id is claimed for another connection (a successor) or not claimed here at all.
   */
  void release(String clientId, ClientConnection connection);

  /**
   * Where a client the local registry does not hold is connected, as far as this node knows without
   * waiting: empty on a single node, and for an id no node holds. An implementation may enter the
   * client into the local registry (a mirrored entry) before answering, so that the caller can
   * route to it at once.
   */
  Optional<Location> locate(String clientId);

  /**
   * A registration asking for its id.
   *
   * @param clientId the id, in its stored form
   * @param clientType device or constellation
   * @param connection the connection registering
   */
  record Claimant(String clientId, ClientType clientType, ClientConnection connection) {
    /** Validates the fields. */
    public Claimant {
      Objects.requireNonNull(clientId, "clientId");
      Objects.requireNonNull(clientType, "clientType");
      Objects.requireNonNull(connection, "connection");
    }
  }

  /** The outcome of a {@link #claim}. */
  sealed interface Claim permits Claimed, HeldElsewhere {}

  /** The id is this node's to register. */
  record Claimed() implements Claim {
    /** The one instance. */
    public static final Claimed INSTANCE = new Claimed();
  }

  /**
   * Another node's live client holds the id, and keeps it.
   *
   * @param node the id of the hub node holding it
   * @param clientType the type the holder registered as, when known (else null)
   */
  record HeldElsewhere(String node, ClientType clientType) implements Claim {
    /** Validates the fields. */
    public HeldElsewhere {
      Objects.requireNonNull(node, "node");
    }
  }

  /**
   * Where a client is connected.
   *
   * @param node the id of the hub node holding its socket
   * @param clientType its type
   */
  record Location(String node, ClientType clientType) {
    /** Validates the fields. */
    public Location {
      Objects.requireNonNull(node, "node");
      Objects.requireNonNull(clientType, "clientType");
    }
  }
}
