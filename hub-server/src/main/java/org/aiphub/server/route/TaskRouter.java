package org.aiphub.server.route;

import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.directory.ClientDirectory;

/**
 * The AIP behaviour of the hub (every row of docs/PROTOCOL.md, "Messages the hub handles"), and the
 * one object the transport, the HTTP API and the cluster call. It knows nothing of Netty: it sees
 * {@link ClientConnection}s, so it runs the same under tests. Each protocol verb lives in its own
 * class, and this facade hands every call to the one that owns it:
 *
 * <ul>
 *   <li>{@link Registrar}: {@code register} (with its claim in the {@link ClientDirectory}), the
 *       duplicate probe's outcomes;
 *   <li>{@link TaskStart}: a constellation's {@code task};
 *   <li>{@link TaskEnd}: a device's {@code task_end} and {@code error};
 *   <li>{@link DeviceInfo}: {@code device_info_request} and {@code device_info_response};
 *   <li>{@link HttpDispatch}: {@code POST /api/dispatch};
 *   <li>{@link RemoteTasks}: the sessions that span two cluster nodes;
 *   <li>{@link Departures}: disconnects, cancellations, the shutdown's failures;
 *   <li>{@link Outcomes}: delivering finished sessions to their owners, or holding them;
 *   <li>{@link SessionStarter}: the one {@code startSession} behind the three ways to start one;
 *   <li>{@link Refusals}: how a refused frame is answered;
 *   <li>{@link Targets}: finding a target device, locally or through the directory.
 * </ul>
 *
 * <p>Methods are called on the event loop of the connection that sent the frame; they never block
 * (the registry and session table are lock-free or briefly striped) and only queue writes.
 */
public final class TaskRouter {
  /** Close code for a connection displaced by a takeover (AIP: 4000 range). */
  public static final int CLOSE_TAKEN_OVER = 4000;

  /**
   * Close code for a holder of a client id that did not answer the probe a duplicate registration
   * sent, so the newcomer replaced it: the idle close code, since it is the same finding (silent
   * past a ping). The router does not see the transport's close-code constants.
   */
  public static final int CLOSE_REPLACED_SILENT = 4001;

  /** Error text of sessions failed because their device went away. */
  public static final String DEVICE_DISCONNECTED = "device_disconnected";

  /** Error text of sessions cancelled because their constellation went away. */
  public static final String CONSTELLATION_DISCONNECTED = "constellation_disconnected";

  private final Messages messages;
  private final RouterEvents events;
  private final ClientIds ids;
  private final Refusals refusals;
  private final Outcomes outcomes;
  private final Departures departures;
  private final Registrar registrar;
  private final TaskStart taskStart;
  private final TaskEnd taskEnd;
  private final DeviceInfo deviceInfo;
  private final HttpDispatch httpDispatch;
  private final RemoteTasks remoteTasks;
  private volatile boolean shuttingDown;

  /**
   * A router over a registry and a session table on a single node ({@link
   * ClientDirectory#singleNode()}), with the id rule the registry folds ids by (the default ASCII
   * rule unless the registry was built with a {@link ClientIds}).
   */
  public TaskRouter(
      ClientRegistry registry, SessionTable sessions, Clock clock, RouterEvents events) {
    this(registry, sessions, clock, events, ClientDirectory.singleNode());
  }

  /**
   * A router that claims and locates client ids through {@code directory} (a cluster's, or {@link
   * ClientDirectory#singleNode()}).
   */
  public TaskRouter(
      ClientRegistry registry,
      SessionTable sessions,
      Clock clock,
      RouterEvents events,
      ClientDirectory directory) {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(sessions, "sessions");
    this.messages = new Messages(clock);
    this.events = Objects.requireNonNull(events, "events");
    this.ids =
        registry.folds() instanceof ClientIds ? (ClientIds) registry.folds() : ClientIds.ascii();
    this.refusals = new Refusals(sessions, messages, events);
    this.outcomes = new Outcomes(registry, sessions, messages, events);
    this.departures = new Departures(registry, sessions, messages, events, outcomes, directory);
    Targets targets = new Targets(registry, directory);
    SessionStarter starter = new SessionStarter(registry, sessions, messages, events);
    this.registrar =
        new Registrar(
            registry,
            messages,
            events,
            ids,
            outcomes,
            departures,
            directory,
            targets,
            () -> shuttingDown);
    this.taskStart =
        new TaskStart(targets, sessions, ids, events, refusals, starter, () -> shuttingDown);
    this.taskEnd = new TaskEnd(sessions, events, refusals, outcomes);
    this.deviceInfo = new DeviceInfo(registry, messages, events, refusals);
    this.httpDispatch = new HttpDispatch(registry, sessions, events, starter, () -> shuttingDown);
    this.remoteTasks = new RemoteTasks(sessions, events, starter, taskEnd, departures);
  }

  /** The id rule: what ids may hold, their stored form, which are too alike. */
  public ClientIds ids() {
    return ids;
  }

  /** The frames this router builds, for the transport's own replies. */
  public Messages messages() {
    return messages;
  }

  // ---------------------------------------------------------------------------- registration

  /**
   * Handles the first frame of a connection. On success the registration reply is sent first, then
   * any outcomes held for this client while it was away.
   */
  public Registration register(ClientConnection conn, ClientMessage m) {
    return register(conn, m, false);
  }

  /**
   * Handles the first frame of a connection; with {@code probeDuplicates}, a registration whose id
   * is held under the reject policy comes back {@link Registration.Contested} instead of refused,
   * so the caller can check whether the holder is a half-open socket before refusing.
   */
  public Registration register(
      ClientConnection conn, ClientMessage frame, boolean probeDuplicates) {
    return registrar.register(conn, frame, probeDuplicates);
  }

  /**
   * Finishes a registration that waited for its claim ({@link Registration.Pending}), once its
   * {@link Registration.Pending#settled()} completed: on the connection's own thread, so that the
   * reply is the first frame the client gets.
   */
  public Registration resume(ClientConnection conn, Registration.Pending pending) {
    return registrar.resume(conn, pending);
  }

  /**
   * Drops a registration that waited for its claim because its connection went away: the claim is
   * released once the directory answered it.
   */
  public void abandon(ClientConnection conn, Registration.Pending pending) {
    registrar.abandon(conn, pending);
  }

  /** Refuses a contested registration whose holder proved alive. */
  public Registration.Refused refuseDuplicate(
      ClientConnection conn, Registration.Contested contested) {
    return registrar.refuseDuplicate(conn, contested);
  }

  /**
   * Treats a holder that did not answer its probe as dead: runs its disconnect path (its sessions
   * end and their owners are told) and closes it, so a new registration can take the id.
   */
  public void replaceDead(Registration.Contested contested) {
    registrar.replaceDead(contested);
  }

  // -------------------------------------------------------------------------------- messages

  /**
   * Handles a frame from a registered client: checks it against the identity bound at registration,
   * then hands it to the class of its verb.
   *
   * @param receivedNanos {@link System#nanoTime()} when the frame arrived, for latency metrics
   */
  public void handle(ClientConnection conn, Identity id, ClientMessage frame, long receivedNanos) {
    ClientMessage m = ids.canonical(frame);
    String mismatch = IdentityPinning.mismatch(id, m);
    if (mismatch != null) {
      if (m.type() == ClientMessageType.TASK) {
        refusals.refuseTask(conn, id, m, mismatch, m.sessionId(), "identity_mismatch");
      } else {
        refusals.reject(conn, id, mismatch, m.sessionId(), "identity_mismatch");
      }
      return;
    }
    switch (m.type()) {
      case HEARTBEAT -> {
        conn.send(messages.heartbeatOk());
        events.heartbeat(id);
      }
      case REGISTER ->
          refusals.reject(
              conn,
              id,
              "already registered as "
                  + Text.quote(id.clientId())
                  + "; a second register is refused",
              null,
              "second_register");
      case TASK -> taskStart.handle(conn, id, m, receivedNanos);
      case TASK_END -> taskEnd.taskEnd(conn, id, m, receivedNanos);
      case ERROR -> taskEnd.error(conn, id, m, receivedNanos);
      case DEVICE_INFO_REQUEST -> deviceInfo.request(conn, id, m);
      case DEVICE_INFO_RESPONSE -> deviceInfo.response(conn, id, m);
      case COMMAND_RESULTS ->
          refusals.reject(
              conn,
              id,
              "unsupported message type 'command_results': the hub sends no commands",
              m.sessionId(),
              "unsupported_type");
      default ->
          refusals.reject(
              conn,
              id,
              "unsupported message type " + Text.quote(m.type().wire()),
              m.sessionId(),
              "unsupported_type");
    }
  }

  // ------------------------------------------------------------------------- HTTP dispatch

  /**
   * Sends a device a task on behalf of the hub itself (the HTTP API): the session has no owner, and
   * its outcome stays in the session history for {@code /api/task_result}, which finds it by task
   * name among HTTP dispatches only.
   *
   * @throws DispatchException when the device is offline or at its task limit, or the sessions
   *     dispatched over HTTP already keep all the bytes they may ({@code session_bytes_per_owner})
   */
  public Session dispatch(String deviceId, String request, String taskName)
      throws DispatchException {
    return httpDispatch.dispatch(deviceId, request, taskName);
  }

  // ------------------------------------------------------------------------ cluster (remote)

  /**
   * The executing side of a task that a constellation on another hub node started for a device on
   * this node: enters the session here too (owner: the constellation's remote entry) and sends the
   * device its task.
   *
   * @return null when the task went to the device, else why not (the caller reports it back)
   */
  public String acceptRemoteTask(
      String sessionId, String ownerId, String deviceId, String taskName, String request) {
    return remoteTasks.accept(sessionId, ownerId, deviceId, taskName, request);
  }

  /**
   * The owning side learns from another node how a session ended there (the device's task_end or
   * error, or its departure): the session ends here too and the owner is told, once.
   */
  public void remoteOutcome(String sessionId, SessionState outcome, Object result, String error) {
    remoteTasks.outcome(sessionId, outcome, result, error);
  }

  /** The executing side learns that the owner's node cancelled a session: stop the device. */
  public void remoteCancel(String sessionId, String reason) {
    remoteTasks.cancel(sessionId, reason);
  }

  // ------------------------------------------------------------------------------ departures

  /**
   * The one disconnect path: called once when a registered connection closed. Does nothing when a
   * takeover already gave the id to another connection.
   */
  public void disconnected(ClientConnection conn, Identity id) {
    departures.disconnected(conn, id);
  }

  /**
   * Cancels a running session: the device is told to stop, and the owner gets (or is held) the
   * outcome.
   */
  public Optional<Session> cancel(Session running, String reason) {
    return departures.cancel(running, reason);
  }

  /** Refuses new registrations and tasks from now on (the hub is stopping). */
  public void beginShutdown() {
    shuttingDown = true;
  }

  /**
   * Fails every running session with {@code reason} (a shutdown): each device is told to stop and
   * each owner gets its {@code task_end} (or has it held).
   *
   * @return how many sessions this call ended
   */
  public int failAll(String reason) {
    return departures.failAll(reason);
  }

  // -------------------------------------------------------------------------------- outcomes

  /**
   * Keeps a finished session's outcome for its offline owner ({@link SessionTable#hold}). Every
   * hold goes through here, so that listeners hear of each one; one that does not fit the held
   * store's limits is reported by the table ({@link RouterEvents#heldOutcomeDropped}).
   */
  public void hold(Session done) {
    outcomes.hold(done);
  }

  /**
   * Hands out, once, every outcome held for {@code ownerId} ({@link SessionTable#takeHeld}), and
   * tells the listeners that each one is held no longer.
   */
  public List<Session> takeHeld(String ownerId) {
    return outcomes.takeHeld(ownerId);
  }
}
