package org.aiphub.server.route;

import java.util.function.BooleanSupplier;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.registry.BindOutcome;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.session.Reservation;
import org.aiphub.core.session.SessionBudgetException;
import org.aiphub.core.session.SessionConflictException;
import org.aiphub.core.session.SessionTable;

/**
 * The {@code task} verb: a constellation asks a device to run a task. Checks the frame and the
 * constellation's scope, reserves the session id and starts the session ({@link SessionStarter});
 * anything refused gets an error frame and, for a task with a session id, a failed {@code task_end}
 * ({@link Refusals#refuseTask}).
 */
final class TaskStart {
  private final Targets targets;
  private final SessionTable sessions;
  private final ClientIds ids;
  private final RouterEvents events;
  private final Refusals refusals;
  private final SessionStarter starter;
  private final BooleanSupplier shuttingDown;

  TaskStart(
      Targets targets,
      SessionTable sessions,
      ClientIds ids,
      RouterEvents events,
      Refusals refusals,
      SessionStarter starter,
      BooleanSupplier shuttingDown) {
    this.targets = targets;
    this.sessions = sessions;
    this.ids = ids;
    this.events = events;
    this.refusals = refusals;
    this.starter = starter;
    this.shuttingDown = shuttingDown;
  }

  /** Handles a {@code task} frame from a registered client. */
  void handle(ClientConnection conn, Identity id, ClientMessage m, long receivedNanos) {
    if (id.isDevice()) {
      refusals.refuseTask(
          conn,
          id,
          m,
          "devices cannot start tasks: the hub runs no agent; tasks come from constellations",
          m.sessionId(),
          "device_task");
      return;
    }
    if (shuttingDown.getAsBoolean()) {
      refusals.refuseTask(conn, id, m, "the hub is shutting down", m.sessionId(), "shutting_down");
      return;
    }
    String target = m.targetId();
    if (target == null || target.isEmpty()) {
      refusals.refuseTask(
          conn,
          id,
          m,
          "a task needs a target_id naming a connected device",
          m.sessionId(),
          "bad_task");
      return;
    }
    if (id.targetId() != null && !id.targetId().equals(target)) {
      refusals.refuseTask(
          conn,
          id,
          m,
          "this constellation registered for device "
              + Text.quote(id.targetId())
              + " and may only send tasks to it",
          m.sessionId(),
          "out_of_scope");
      return;
    }
    if (m.request() == null || m.request().isEmpty()) {
      refusals.refuseTask(
          conn, id, m, "a task needs a non-empty request", m.sessionId(), "bad_task");
      return;
    }
    String sessionId = m.sessionId() == null ? Ids.uuid() : m.sessionId();
    String idProblem = ids.problem("session_id", sessionId);
    if (idProblem != null) {
      refusals.refuseTask(conn, id, m, idProblem, null, "bad_session_id");
      return;
    }
    Targets.Miss miss = targets.device(target);
    if (miss != null) {
      refusals.refuseTask(conn, id, m, miss.reason(), sessionId, miss.label());
      return;
    }
    String unreachable = starter.unreachable(target);
    if (unreachable != null) {
      refusals.refuseTask(conn, id, m, unreachable, sessionId, "target_unreachable");
      return;
    }
    Reservation reservation;
    try {
      reservation = sessions.reserve(sessionId, id.clientId(), target, m.taskName(), m.request());
    } catch (SessionBudgetException e) {
      events.limitExceeded(e.limit());
      refusals.refuseTask(conn, id, m, e.getMessage(), sessionId, e.limit());
      return;
    } catch (SessionConflictException e) {
      if (e.reason() == SessionConflictException.Reason.ALREADY_RUNNING) {
        // The sender's own session with this id runs on and will send its own task_end. Decided
        // from the conflict, not by looking again: a session that ends meanwhile must not be
        // followed by a second, failed task_end for its id.
        refusals.reject(conn, id, e.getMessage(), sessionId, "session_conflict");
      } else {
        refusals.refuseTask(conn, id, m, e.getMessage(), sessionId, "session_conflict");
      }
      return;
    }
    BindOutcome bound = starter.startSession(reservation, m.request(), receivedNanos, conn);
    if (bound != BindOutcome.BOUND) {
      refusals.refuseTask(
          conn,
          id,
          m,
          starter.bindRefusal(bound, target, sessionId),
          sessionId,
          SessionStarter.bindLabel(bound));
    }
  }
}
