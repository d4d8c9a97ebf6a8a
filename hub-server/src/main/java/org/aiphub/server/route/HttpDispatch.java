package org.aiphub.server.route;

import java.util.function.BooleanSupplier;
import org.aiphub.core.registry.BindOutcome;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Reservation;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionBudgetException;
import org.aiphub.core.session.SessionConflictException;
import org.aiphub.core.session.SessionTable;

/**
 * A task the hub itself sends a device ({@code POST /api/dispatch}): the session has no owner, and
 * its outcome stays in the history for {@code /api/task_result}, which finds it by task name among
 * HTTP dispatches only.
 */
final class HttpDispatch {
  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final RouterEvents events;
  private final SessionStarter starter;
  private final BooleanSupplier shuttingDown;

  HttpDispatch(
      ClientRegistry registry,
      SessionTable sessions,
      RouterEvents events,
      SessionStarter starter,
      BooleanSupplier shuttingDown) {
    this.registry = registry;
    this.sessions = sessions;
    this.events = events;
    this.starter = starter;
    this.shuttingDown = shuttingDown;
  }

  /** See {@link TaskRouter#dispatch}. */
  Session dispatch(String deviceId, String request, String taskName) throws DispatchException {
    long received = System.nanoTime();
    if (shuttingDown.getAsBoolean()) {
      throw new DispatchException(DispatchException.Reason.UNAVAILABLE, "the hub is shutting down");
    }
    if (!registry.isDeviceConnected(deviceId)) {
      throw new DispatchException(
          DispatchException.Reason.DEVICE_NOT_FOUND,
          "client " + Text.quote(deviceId) + " is not an online device");
    }
    String unreachable = starter.unreachable(deviceId);
    if (unreachable != null) {
      throw new DispatchException(DispatchException.Reason.UNAVAILABLE, unreachable);
    }
    Reservation reservation;
    try {
      reservation = sessions.reserveDispatch(Ids.uuid(), deviceId, taskName, request);
    } catch (SessionBudgetException e) {
      events.limitExceeded(e.limit());
      throw new DispatchException(DispatchException.Reason.OVER_LIMIT, e.getMessage());
    } catch (SessionConflictException e) {
      throw new IllegalStateException("a fresh random session id collided", e);
    }
    Session session = reservation.session();
    BindOutcome bound = starter.startSession(reservation, request, received, null);
    if (bound != BindOutcome.BOUND) {
      throw new DispatchException(
          bound == BindOutcome.DEVICE_AT_CAPACITY
              ? DispatchException.Reason.DEVICE_BUSY
              : DispatchException.Reason.DEVICE_NOT_FOUND,
          starter.bindRefusal(bound, deviceId, session.id()));
    }
    return session;
  }
}
