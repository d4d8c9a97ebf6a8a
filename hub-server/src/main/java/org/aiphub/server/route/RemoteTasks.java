package org.aiphub.server.route;

import org.aiphub.core.registry.BindOutcome;
import org.aiphub.core.session.Reservation;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionBudgetException;
import org.aiphub.core.session.SessionConflictException;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;

/**
 * The router's side of sessions that span two hub nodes (cluster mode): the executing node accepts
 * a task started on the owner's node, the owning node learns how it ended, and the executing node
 * learns that the owner's node cancelled it.
 */
final class RemoteTasks {
  private final SessionTable sessions;
  private final RouterEvents events;
  private final SessionStarter starter;
  private final TaskEnd taskEnd;
  private final Departures departures;

  RemoteTasks(
      SessionTable sessions,
      RouterEvents events,
      SessionStarter starter,
      TaskEnd taskEnd,
      Departures departures) {
    this.sessions = sessions;
    this.events = events;
    this.starter = starter;
    this.taskEnd = taskEnd;
    this.departures = departures;
  }

  /** See {@link TaskRouter#acceptRemoteTask}. */
  String accept(
      String sessionId, String ownerId, String deviceId, String taskName, String request) {
    long received = System.nanoTime();
    Reservation reservation;
    try {
      reservation = sessions.reserve(sessionId, ownerId, deviceId, taskName, request);
    } catch (SessionBudgetException e) {
      events.limitExceeded(e.limit());
      return e.getMessage();
    } catch (SessionConflictException e) {
      return e.getMessage();
    }
    BindOutcome bound = starter.startSession(reservation, request, received, null);
    return bound == BindOutcome.BOUND ? null : starter.bindRefusal(bound, deviceId, sessionId);
  }

  /** See {@link TaskRouter#remoteOutcome}. */
  void outcome(String sessionId, SessionState outcome, Object result, String error) {
    Session running = sessions.running(sessionId).orElse(null);
    if (running == null || !outcome.isFinal()) {
      return;
    }
    taskEnd.end(running, outcome, result, error, System.nanoTime());
  }

  /** See {@link TaskRouter#remoteCancel}. */
  void cancel(String sessionId, String reason) {
    sessions.running(sessionId).ifPresent(s -> departures.cancel(s, reason));
  }
}
