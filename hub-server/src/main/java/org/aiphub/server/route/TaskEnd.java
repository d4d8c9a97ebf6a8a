package org.aiphub.server.route;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.Result;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;

/**
 * The verbs that end a session from its device: {@code task_end} (completed or failed) and an
 * {@code error} naming a session it runs. Only the device running the session may end it; the first
 * ending wins, and its outcome goes to the owner ({@link Outcomes}).
 */
final class TaskEnd {
  private final SessionTable sessions;
  private final RouterEvents events;
  private final Refusals refusals;
  private final Outcomes outcomes;

  TaskEnd(SessionTable sessions, RouterEvents events, Refusals refusals, Outcomes outcomes) {
    this.sessions = sessions;
    this.events = events;
    this.refusals = refusals;
    this.outcomes = outcomes;
  }

  /** Handles a {@code task_end} frame from a registered client. */
  void taskEnd(ClientConnection conn, Identity id, ClientMessage m, long receivedNanos) {
    if (!id.isDevice()) {
      refusals.reject(
          conn, id, "only the device running a session can end it", m.sessionId(), "not_executor");
      return;
    }
    Session running = runningOn(id, m.sessionId());
    if (running == null) {
      refusals.reject(conn, id, noSession(m.sessionId()), m.sessionId(), "unknown_session");
      return;
    }
    SessionState outcome;
    if (m.status() == TaskStatus.COMPLETED || m.status() == TaskStatus.OK) {
      outcome = SessionState.COMPLETED;
    } else if (m.status() == TaskStatus.FAILED || m.status() == TaskStatus.ERROR) {
      outcome = SessionState.FAILED;
    } else {
      refusals.reject(
          conn,
          id,
          "task_end status must be completed or failed, got '" + m.status().wire() + "'",
          m.sessionId(),
          "bad_task_end");
      return;
    }
    Object result = m.result() != null ? m.result() : resultsAsJson(m.actionResults());
    end(running, outcome, result, m.error(), receivedNanos);
  }

  /** Handles an {@code error} frame from a registered client. */
  void error(ClientConnection conn, Identity id, ClientMessage m, long receivedNanos) {
    if (!id.isDevice() || m.sessionId() == null) {
      return; // an informational error: nothing to fail, and answering errors invites loops
    }
    Session running = runningOn(id, m.sessionId());
    if (running == null) {
      refusals.reject(conn, id, noSession(m.sessionId()), m.sessionId(), "unknown_session");
      return;
    }
    String why = m.error() == null || m.error().isEmpty() ? "device reported an error" : m.error();
    end(running, SessionState.FAILED, m.result(), why, receivedNanos);
  }

  /**
   * Ends a running session as reported (by its device here, or by another node's): the first ending
   * wins, and only the winner is reported and delivered.
   */
  void end(Session running, SessionState outcome, Object result, String error, long receivedNanos) {
    sessions
        .finish(running, outcome, result, error)
        .ifPresent(
            done -> {
              events.taskEndReceived(done, receivedNanos);
              outcomes.finished(done);
            });
  }

  /** The running session {@code sessionId} if the device {@code id} executes it, else null. */
  private Session runningOn(Identity id, String sessionId) {
    Session s = sessions.running(sessionId).orElse(null);
    return s != null && s.executorId().equals(id.clientId()) ? s : null;
  }

  private static String noSession(String sessionId) {
    return sessionId == null
        ? "this message needs a session_id"
        : "no running session " + Text.quote(sessionId) + " on this device";
  }

  private static Object resultsAsJson(List<Result> results) {
    if (results == null) {
      return null;
    }
    List<Object> out = new ArrayList<>(results.size());
    for (Result r : results) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("status", r.status().wire());
      m.put("error", r.error());
      m.put("result", r.result());
      m.put("namespace", r.namespace());
      m.put("call_id", r.callId());
      out.add(m);
    }
    return out;
  }
}
