package org.aiphub.server.route;

import org.aiphub.core.registry.BindOutcome;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Reservation;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionTable;

/**
 * The one way a session starts, whoever asked for it (a constellation's {@code task}, an HTTP
 * dispatch, a constellation on another hub node): the caller has reserved the id in the session
 * table; {@link #startSession} binds it to its owner and device in the registry, undoes the
 * reservation when the bind is refused, and otherwise reports the start, acknowledges the task and
 * sends the device its task.
 */
final class SessionStarter {
  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final Messages messages;
  private final RouterEvents events;

  SessionStarter(
      ClientRegistry registry, SessionTable sessions, Messages messages, RouterEvents events) {
    this.registry = registry;
    this.sessions = sessions;
    this.messages = messages;
    this.events = events;
  }

  /**
   * Starts a reserved session: reserve, then here bind, abort (when refused), report, acknowledge,
   * send.
   *
   * @param reservation the session reserved in the table, with its owner (null: hub-owned) and
   *     executing device
   * @param request the request as received, for the device (the record may keep only its start)
   * @param receivedNanos when the task arrived, for latency metrics
   * @param ackTo the connection that gets {@code heartbeat}/{@code ok} with the session id before
   *     the device gets its task, or null
   * @return {@link BindOutcome#BOUND} when the session started; otherwise why not, the reservation
   *     undone and nothing sent
   */
  BindOutcome startSession(
      Reservation reservation, String request, long receivedNanos, ClientConnection ackTo) {
    Session session = reservation.session();
    BindOutcome bound = registry.bindSession(session.id(), session.ownerId(), session.executorId());
    if (bound != BindOutcome.BOUND) {
      sessions.abort(reservation);
      return bound;
    }
    // Observers hear of the start before anyone is sent anything: a fast device's task_end,
    // handled on another thread, must never reach them before the start it ends.
    events.sessionStarted(session, receivedNanos);
    if (ackTo != null) {
      ackTo.send(messages.taskAccepted(session.id()));
    }
    // The device may have left since the bind; its departure then fails this session.
    registry
        .getClient(session.executorId())
        .ifPresent(
            device ->
                device.send(
                    messages.taskForDevice(session, request),
                    () -> events.taskDispatched(session, receivedNanos)));
    return BindOutcome.BOUND;
  }

  /** Why work for {@code deviceId} cannot be delivered now, or null when it can. */
  String unreachable(String deviceId) {
    ClientInfo device = registry.getClientInfo(deviceId).orElse(null);
    if (device == null || device.connection().reachable()) {
      return null;
    }
    return "device "
        + Text.quote(deviceId)
        + " is connected to "
        + device.connection().remoteAddress()
        + ", which cannot be reached while the cluster backplane (Redis) is unavailable";
  }

  /** The refusal text for a bind that did not happen. */
  String bindRefusal(BindOutcome outcome, String target, String sessionId) {
    switch (outcome) {
      case DEVICE_AT_CAPACITY:
        int limit = registry.getClientInfo(target).map(ClientInfo::maxConcurrentTasks).orElse(0);
        return "device "
            + Text.quote(target)
            + " already runs its limit of "
            + limit
            + " concurrent tasks (max_concurrent_tasks)";
      case OWNER_AT_CAPACITY:
        return "this constellation already has its limit of "
            + registry.maxSessionsPerOwner()
            + " running sessions (max_sessions_per_constellation)";
      case DEVICE_OFFLINE:
        return "target device " + Text.quote(target) + " is not connected";
      case SESSION_IN_USE:
        return "session_id " + Text.quote(sessionId) + " is already in use";
      case OWNER_OFFLINE:
      default:
        return "this client is no longer registered";
    }
  }

  /** The metrics label for a bind that did not happen. */
  static String bindLabel(BindOutcome outcome) {
    switch (outcome) {
      case DEVICE_AT_CAPACITY:
        return "device_at_capacity";
      case OWNER_AT_CAPACITY:
        return "owner_at_capacity";
      case DEVICE_OFFLINE:
        return "target_offline";
      case SESSION_IN_USE:
        return "session_conflict";
      default:
        return "owner_offline";
    }
  }
}
