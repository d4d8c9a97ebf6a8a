package org.aiphub.server.route;

import java.util.List;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionTable;

/**
 * Where a finished session's outcome goes: unmapped from both clients, then delivered to its owner
 * as a {@code task_end}, or held for an owner that is away (or whose delivery failed) and handed
 * over when it registers again. Every hold and every take goes through here, so that listeners hear
 * of each one.
 */
final class Outcomes {
  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final Messages messages;
  private final RouterEvents events;

  Outcomes(ClientRegistry registry, SessionTable sessions, Messages messages, RouterEvents events) {
    this.registry = registry;
    this.sessions = sessions;
    this.messages = messages;
    this.events = events;
  }

  /** Unmaps a session that reached its final state and tells its owner. */
  void finished(Session done) {
    registry.removeSession(done.id());
    events.sessionFinished(done);
    deliver(done);
  }

  private void deliver(Session done) {
    String owner = done.ownerId();
    if (owner == null) {
      return; // hub-owned: the outcome stays in the history for HTTP look-ups
    }
    ClientConnection conn = constellation(owner);
    if (conn != null) {
      conn.deliver(messages.taskEnd(done), () -> deliveryFailed(done, conn));
      return;
    }
    hold(done);
    // The owner may have registered between the look-up and the hold: hand it over now.
    ClientConnection now = constellation(owner);
    if (now != null) {
      drainHeld(owner, now);
    }
  }

  private void deliveryFailed(Session done, ClientConnection failed) {
    hold(done);
    ClientConnection now = constellation(done.ownerId());
    // Only a different connection can do better; retrying the failed one would spin.
    if (now != null && now != failed) {
      drainHeld(done.ownerId(), now);
    }
  }

  /** Delivers to {@code conn} every outcome held for {@code owner}. */
  void drainHeld(String owner, ClientConnection conn) {
    for (Session s : takeHeld(owner)) {
      conn.deliver(messages.taskEnd(s), () -> deliveryFailed(s, conn));
    }
  }

  /** See {@link TaskRouter#hold}. */
  void hold(Session done) {
    if (sessions.hold(done)) {
      events.heldChanged(done);
    }
  }

  /** See {@link TaskRouter#takeHeld}. */
  List<Session> takeHeld(String ownerId) {
    List<Session> taken = sessions.takeHeld(ownerId);
    for (Session s : taken) {
      events.heldChanged(s);
    }
    return taken;
  }

  private ClientConnection constellation(String clientId) {
    return registry
        .getClientInfo(clientId)
        .filter(i -> i.clientType() == ClientType.CONSTELLATION)
        .map(ClientInfo::connection)
        .orElse(null);
  }
}
