package org.aiphub.server.route;

import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionTable;

/** How the router refuses a frame from a registered client: one place for every verb. */
final class Refusals {
  private final SessionTable sessions;
  private final Messages messages;
  private final RouterEvents events;

  Refusals(SessionTable sessions, Messages messages, RouterEvents events) {
    this.sessions = sessions;
    this.messages = messages;
    this.events = events;
  }

  /** An error frame (naming {@code sessionId} when there is one), counted under {@code label}. */
  void reject(ClientConnection conn, Identity id, String reason, String sessionId, String label) {
    conn.send(sessionId == null ? messages.error(reason) : messages.error(reason, sessionId));
    events.refused(id, label);
  }

  /**
   * Refuses a {@code task} frame: the error frame as for any refused frame, then (a hub rule,
   * beyond the reference server) a {@code task_end} {@code failed} for the session id the task
   * carried, with the same reason. Galaxy only logs error frames and waits for the task's {@code
   * task_end}: without it, a refused task would hang until Galaxy's own timeout. The task_end goes
   * to the sender only and changes nothing in the hub: a running session with that id (another
   * client's) and its owner are untouched. There is none to send when the task carried no session
   * id, when the id is too long to echo (the reply must stay small), or when the sender itself owns
   * or runs a session with that id that is still running: that session's own task_end will come,
   * and a failed one now would tell the sender that a session which goes on had ended.
   *
   * @param errorSessionId the session id the error frame names (for a task without one, the id the
   *     hub generated for it), or null
   */
  void refuseTask(
      ClientConnection conn,
      Identity id,
      ClientMessage m,
      String reason,
      String errorSessionId,
      String label) {
    reject(conn, id, reason, errorSessionId, label);
    String sessionId = m.sessionId();
    if (sessionId == null
        || sessionId.isEmpty()
        || sessionId.length() > ClientIds.MAX_LENGTH
        || partyToRunning(id, sessionId)) {
      return;
    }
    conn.send(messages.taskRefused(sessionId, reason));
  }

  /** Whether {@code id} owns or executes a running session {@code sessionId}. */
  private boolean partyToRunning(Identity id, String sessionId) {
    Session s = sessions.running(sessionId).orElse(null);
    return s != null && (id.clientId().equals(s.ownerId()) || id.clientId().equals(s.executorId()));
  }
}
