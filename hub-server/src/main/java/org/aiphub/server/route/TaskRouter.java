package org.aiphub.server.route;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.Result;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.device.DeviceEntry;
import org.aiphub.core.registry.BindOutcome;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientInfoLimitException;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.Departure;
import org.aiphub.core.registry.DuplicateClientException;
import org.aiphub.core.registry.LookAlikeClientException;
import org.aiphub.core.session.Reservation;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionBudgetException;
import org.aiphub.core.session.SessionConflictException;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.security.ClientTokens;

/**
 * The AIP behaviour of the hub (every row of docs/PROTOCOL.md, "Messages the hub handles"):
 * registration, the task relay between constellations and devices, device info, and cleanup when a
 * client leaves. It knows nothing of Netty: it sees {@link ClientConnection}s, so it runs the same
 * under tests.
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

  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final Messages messages;
  private final RouterEvents events;
  private final ClientIds ids;
  private volatile boolean shuttingDown;

  /** What became of a {@code register} frame. */
  public sealed interface Registration permits Registered, Refused, Contested {}

  /**
   * The client is registered; the reply went out.
   *
   * @param identity the identity now bound to the connection
   */
  public record Registered(Identity identity) implements Registration {}

  /**
   * The registration failed; the error frame went out and the caller closes the connection.
   *
   * @param reason the error text sent to the client
   * @param outcome a short label for metrics, e.g. {@code duplicate}
   */
  public record Refused(String reason, String outcome) implements Registration {}

  /**
   * The id is held by a live entry under the reject policy, and the caller asked to check first
   * whether that holder is really alive: nothing was sent yet. Probe {@code holder}, then call
   * {@link #refuseDuplicate} (it answered) or {@link #replaceDead} and register again (it did not).
   *
   * @param holder the entry holding the id
   * @param reason the refusal text, should the holder prove alive
   */
  public record Contested(ClientInfo holder, String reason) implements Registration {}

  /**
   * A router over a registry and a session table, with the id rule the registry folds ids by (the
   * default ASCII rule unless the registry was built with a {@link ClientIds}).
   */
  public TaskRouter(
      ClientRegistry registry, SessionTable sessions, Clock clock, RouterEvents events) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.sessions = Objects.requireNonNull(sessions, "sessions");
    this.messages = new Messages(clock);
    this.events = Objects.requireNonNull(events, "events");
    this.ids =
        registry.folds() instanceof ClientIds ? (ClientIds) registry.folds() : ClientIds.ascii();
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
   * is held under the reject policy comes back {@link Contested} instead of refused, so the caller
   * can check whether the holder is a half-open socket before refusing.
   */
  public Registration register(
      ClientConnection conn, ClientMessage frame, boolean probeDuplicates) {
    ClientMessage m = ids.canonical(frame);
    if (shuttingDown) {
      return refuse(conn, "the hub is shutting down", "shutting_down");
    }
    if (m.type() != ClientMessageType.REGISTER) {
      return refuse(
          conn,
          "the first message must be a register message, got '" + m.type().wire() + "'",
          "not_register");
    }
    String idProblem = ids.problem("client_id", m.clientId());
    if (idProblem != null) {
      return refuse(conn, idProblem, "bad_client_id");
    }
    String clientId = m.clientId();
    Map<String, Object> metadata = m.metadata();
    DeviceEntry entry = registry.deviceConfig().entry(clientId);
    if (entry != null && entry.tokenSha256() != null) {
      Object token = metadata == null ? null : metadata.get(ClientTokens.METADATA_FIELD);
      if (!(token instanceof String)
          || !ClientTokens.matches((String) token, entry.tokenSha256())) {
        return refuse(
            conn,
            "client_id "
                + Text.quote(clientId)
                + " requires its own credential: metadata."
                + ClientTokens.METADATA_FIELD
                + " is missing or wrong",
            "bad_credentials");
      }
    }
    if (metadata != null && metadata.containsKey(ClientTokens.METADATA_FIELD)) {
      // The credential did its job; it must not be stored, logged or shown anywhere.
      Map<String, Object> withoutToken = new LinkedHashMap<>(metadata);
      withoutToken.remove(ClientTokens.METADATA_FIELD);
      metadata = withoutToken;
    }
    String target = null;
    String platform = null;
    if (m.clientType() == ClientType.CONSTELLATION) {
      target = m.targetId();
      String targetProblem = target == null ? null : ids.problem("target_id", target);
      if (targetProblem != null) {
        return refuse(conn, targetProblem, "bad_target");
      }
      if (target != null && !registry.isDeviceConnected(target)) {
        return refuse(
            conn, "target device " + Text.quote(target) + " is not connected", "bad_target");
      }
    } else {
      Object p = metadata == null ? null : metadata.get("platform");
      if (p != null && !(p instanceof String)) {
        return refuse(conn, "metadata.platform must be a string", "bad_metadata");
      }
      Object si = metadata == null ? null : metadata.get("system_info");
      if (si != null && !(si instanceof Map)) {
        return refuse(conn, "metadata.system_info must be an object", "bad_metadata");
      }
      platform = (String) p;
    }
    Optional<ClientInfo> displaced;
    try {
      displaced = registry.addClient(clientId, platform, conn, m.clientType(), metadata);
    } catch (LookAlikeClientException e) {
      return refuse(conn, ids.lookAlikeReason(e), "look_alike_id");
    } catch (ClientInfoLimitException e) {
      events.limitExceeded(e.limit());
      return refuse(conn, e.getMessage(), e.limit());
    } catch (DuplicateClientException e) {
      Optional<ClientInfo> holder = registry.getClientInfo(clientId);
      if (probeDuplicates
          && holder.isPresent()
          && holder.get().clientType() == m.clientType()
          && registry.policy() == org.aiphub.core.registry.DuplicatePolicy.REJECT) {
        return new Contested(holder.get(), e.getMessage());
      }
      return refuse(conn, e.getMessage(), "duplicate");
    }
    Identity identity = new Identity(clientId, m.clientType(), target);
    conn.send(messages.heartbeatOk());
    displaced.ifPresent(
        old -> {
          old.connection().close(CLOSE_TAKEN_OVER, "replaced by a newer connection");
          events.takenOver(clientId, old.clientType());
        });
    events.registered(identity, conn.remoteAddress());
    if (identity.clientType() == ClientType.CONSTELLATION) {
      drainHeld(clientId, conn);
    }
    return new Registered(identity);
  }

  /** Refuses a contested registration whose holder proved alive. */
  public Refused refuseDuplicate(ClientConnection conn, Contested contested) {
    return refuse(conn, contested.reason(), "duplicate");
  }

  /**
   * Treats a holder that did not answer its probe as dead: runs its disconnect path (its sessions
   * end and their owners are told) and closes it, so a new registration can take the id.
   */
  public void replaceDead(Contested contested) {
    ClientInfo dead = contested.holder();
    disconnected(dead.connection(), new Identity(dead.clientId(), dead.clientType(), null));
    dead.connection().close(CLOSE_REPLACED_SILENT, "replaced: did not answer a ping");
    events.takenOver(dead.clientId(), dead.clientType());
  }

  private Refused refuse(ClientConnection conn, String reason, String outcome) {
    conn.send(messages.error(reason));
    events.registrationRefused(outcome, conn.remoteAddress());
    return new Refused(reason, outcome);
  }

  // -------------------------------------------------------------------------------- messages

  /**
   * Handles a frame from a registered client.
   *
   * @param receivedNanos {@link System#nanoTime()} when the frame arrived, for latency metrics
   */
  public void handle(ClientConnection conn, Identity id, ClientMessage frame, long receivedNanos) {
    ClientMessage m = ids.canonical(frame);
    String mismatch = IdentityPinning.mismatch(id, m);
    if (mismatch != null) {
      if (m.type() == ClientMessageType.TASK) {
        refuseTask(conn, id, m, mismatch, m.sessionId(), "identity_mismatch");
      } else {
        reject(conn, id, mismatch, m.sessionId(), "identity_mismatch");
      }
      return;
    }
    switch (m.type()) {
      case HEARTBEAT:
        conn.send(messages.heartbeatOk());
        events.heartbeat(id);
        break;
      case REGISTER:
        reject(
            conn,
            id,
            "already registered as " + Text.quote(id.clientId()) + "; a second register is refused",
            null,
            "second_register");
        break;
      case TASK:
        if (id.isDevice()) {
          refuseTask(
              conn,
              id,
              m,
              "devices cannot start tasks: the hub runs no agent; tasks come from constellations",
              m.sessionId(),
              "device_task");
        } else {
          startTask(conn, id, m, receivedNanos);
        }
        break;
      case TASK_END:
        if (id.isDevice()) {
          endTask(conn, id, m, receivedNanos);
        } else {
          reject(
              conn,
              id,
              "only the device running a session can end it",
              m.sessionId(),
              "not_executor");
        }
        break;
      case ERROR:
        deviceError(conn, id, m, receivedNanos);
        break;
      case DEVICE_INFO_REQUEST:
        deviceInfoRequest(conn, id, m);
        break;
      case DEVICE_INFO_RESPONSE:
        deviceInfoResponse(conn, id, m);
        break;
      case COMMAND_RESULTS:
        reject(
            conn,
            id,
            "unsupported message type 'command_results': the hub sends no commands",
            m.sessionId(),
            "unsupported_type");
        break;
      default:
        reject(
            conn,
            id,
            "unsupported message type " + Text.quote(m.type().wire()),
            m.sessionId(),
            "unsupported_type");
    }
  }

  private void reject(
      ClientConnection conn, Identity id, String reason, String sessionId, String label) {
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
  private void refuseTask(
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

  private void startTask(ClientConnection conn, Identity id, ClientMessage m, long receivedNanos) {
    if (shuttingDown) {
      refuseTask(conn, id, m, "the hub is shutting down", m.sessionId(), "shutting_down");
      return;
    }
    String target = m.targetId();
    if (target == null || target.isEmpty()) {
      refuseTask(
          conn,
          id,
          m,
          "a task needs a target_id naming a connected device",
          m.sessionId(),
          "bad_task");
      return;
    }
    if (id.targetId() != null && !id.targetId().equals(target)) {
      refuseTask(
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
      refuseTask(conn, id, m, "a task needs a non-empty request", m.sessionId(), "bad_task");
      return;
    }
    String sessionId = m.sessionId() == null ? Ids.uuid() : m.sessionId();
    String idProblem = ids.problem("session_id", sessionId);
    if (idProblem != null) {
      refuseTask(conn, id, m, idProblem, null, "bad_session_id");
      return;
    }
    if (!registry.isDeviceConnected(target)) {
      refuseTask(
          conn,
          id,
          m,
          "target device " + Text.quote(target) + " is not connected",
          sessionId,
          "target_offline");
      return;
    }
    String unreachable = unreachable(target);
    if (unreachable != null) {
      refuseTask(conn, id, m, unreachable, sessionId, "target_unreachable");
      return;
    }
    Reservation reservation;
    try {
      reservation = sessions.reserve(sessionId, id.clientId(), target, m.taskName(), m.request());
    } catch (SessionBudgetException e) {
      events.limitExceeded(e.limit());
      refuseTask(conn, id, m, e.getMessage(), sessionId, e.limit());
      return;
    } catch (SessionConflictException e) {
      if (e.reason() == SessionConflictException.Reason.ALREADY_RUNNING) {
        // The sender's own session with this id runs on and will send its own task_end. Decided
        // from the conflict, not by looking again: a session that ends meanwhile must not be
        // followed by a second, failed task_end for its id.
        reject(conn, id, e.getMessage(), sessionId, "session_conflict");
      } else {
        refuseTask(conn, id, m, e.getMessage(), sessionId, "session_conflict");
      }
      return;
    }
    BindOutcome bound = registry.bindSession(sessionId, id.clientId(), target);
    if (bound != BindOutcome.BOUND) {
      sessions.abort(reservation);
      refuseTask(conn, id, m, bindRefusal(bound, target, sessionId), sessionId, bindLabel(bound));
      return;
    }
    Session session = reservation.session();
    conn.send(messages.taskAccepted(sessionId));
    // The device may have left since the bind; its departure then fails this session.
    registry
        .getClient(target)
        .ifPresent(
            device ->
                device.send(
                    messages.taskForDevice(session, m.request()),
                    () -> events.taskDispatched(session, receivedNanos)));
    events.sessionStarted(session, receivedNanos);
  }

  private String bindRefusal(BindOutcome outcome, String target, String sessionId) {
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

  private static String bindLabel(BindOutcome outcome) {
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

  private void endTask(ClientConnection conn, Identity id, ClientMessage m, long receivedNanos) {
    Session running = runningOn(id, m.sessionId());
    if (running == null) {
      reject(conn, id, noSession(m.sessionId()), m.sessionId(), "unknown_session");
      return;
    }
    SessionState outcome;
    if (m.status() == TaskStatus.COMPLETED || m.status() == TaskStatus.OK) {
      outcome = SessionState.COMPLETED;
    } else if (m.status() == TaskStatus.FAILED || m.status() == TaskStatus.ERROR) {
      outcome = SessionState.FAILED;
    } else {
      reject(
          conn,
          id,
          "task_end status must be completed or failed, got '" + m.status().wire() + "'",
          m.sessionId(),
          "bad_task_end");
      return;
    }
    Object result = m.result() != null ? m.result() : resultsAsJson(m.actionResults());
    sessions
        .finish(running, outcome, result, m.error())
        .ifPresent(
            done -> {
              events.taskEndReceived(done, receivedNanos);
              finished(done);
            });
  }

  private void deviceError(
      ClientConnection conn, Identity id, ClientMessage m, long receivedNanos) {
    if (!id.isDevice() || m.sessionId() == null) {
      return; // an informational error: nothing to fail, and answering errors invites loops
    }
    Session running = runningOn(id, m.sessionId());
    if (running == null) {
      reject(conn, id, noSession(m.sessionId()), m.sessionId(), "unknown_session");
      return;
    }
    String why = m.error() == null || m.error().isEmpty() ? "device reported an error" : m.error();
    sessions
        .finish(running, SessionState.FAILED, m.result(), why)
        .ifPresent(
            done -> {
              events.taskEndReceived(done, receivedNanos);
              finished(done);
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

  private void deviceInfoRequest(ClientConnection conn, Identity id, ClientMessage m) {
    if (id.isDevice()) {
      reject(
          conn, id, "only constellations may request device info", null, "device_info_by_device");
      return;
    }
    String target = m.targetId() != null ? m.targetId() : id.targetId();
    if (target == null) {
      conn.send(messages.deviceInfoError(m.requestId(), "device_info_request needs a target_id"));
      events.refused(id, "bad_info_request");
      return;
    }
    if (id.targetId() != null && !id.targetId().equals(target)) {
      conn.send(
          messages.deviceInfoError(
              m.requestId(),
              "this constellation registered for device "
                  + Text.quote(id.targetId())
                  + " and may only ask about it"));
      events.refused(id, "out_of_scope");
      return;
    }
    Optional<ClientInfo> device = registry.getClientInfo(target).filter(ClientInfo::isDevice);
    if (device.isEmpty()) {
      conn.send(
          messages.deviceInfoError(
              m.requestId(), "device " + Text.quote(target) + " is not connected"));
      return;
    }
    conn.send(messages.deviceInfo(m.requestId(), device.get().systemInfo()));
  }

  private void deviceInfoResponse(ClientConnection conn, Identity id, ClientMessage m) {
    if (!id.isDevice()) {
      reject(conn, id, "only devices report device info", null, "info_by_constellation");
      return;
    }
    Object si = m.metadata() == null ? null : m.metadata().get("system_info");
    if (!(si instanceof Map)) {
      reject(
          conn,
          id,
          "device_info_response needs metadata.system_info as an object",
          null,
          "bad_device_info");
      return;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> systemInfo = (Map<String, Object>) si;
    boolean updated;
    try {
      updated = registry.updateDeviceSystemInfo(id.clientId(), conn, systemInfo);
    } catch (ClientInfoLimitException e) {
      events.limitExceeded(e.limit());
      reject(conn, id, e.getMessage(), null, e.limit());
      return;
    }
    if (updated) {
      events.deviceInfoUpdated(id.clientId(), systemInfo);
    }
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
    long received = System.nanoTime();
    if (shuttingDown) {
      throw new DispatchException(DispatchException.Reason.UNAVAILABLE, "the hub is shutting down");
    }
    if (!registry.isDeviceConnected(deviceId)) {
      throw new DispatchException(
          DispatchException.Reason.DEVICE_NOT_FOUND,
          "client " + Text.quote(deviceId) + " is not an online device");
    }
    String unreachable = unreachable(deviceId);
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
    BindOutcome bound = registry.bindSession(session.id(), null, deviceId);
    if (bound != BindOutcome.BOUND) {
      sessions.abort(reservation);
      throw new DispatchException(
          bound == BindOutcome.DEVICE_AT_CAPACITY
              ? DispatchException.Reason.DEVICE_BUSY
              : DispatchException.Reason.DEVICE_NOT_FOUND,
          bindRefusal(bound, deviceId, session.id()));
    }
    registry
        .getClient(deviceId)
        .ifPresent(
            device ->
                device.send(
                    messages.taskForDevice(session, request),
                    () -> events.taskDispatched(session, received)));
    events.sessionStarted(session, received);
    return session;
  }

  /** Why work for {@code deviceId} cannot be delivered now, or null when it can. */
  private String unreachable(String deviceId) {
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
    BindOutcome bound = registry.bindSession(sessionId, ownerId, deviceId);
    if (bound != BindOutcome.BOUND) {
      sessions.abort(reservation);
      return bindRefusal(bound, deviceId, sessionId);
    }
    Session session = reservation.session();
    registry
        .getClient(deviceId)
        .ifPresent(
            device ->
                device.send(
                    messages.taskForDevice(session, request),
                    () -> events.taskDispatched(session, received)));
    events.sessionStarted(session, received);
    return null;
  }

  /**
   * The owning side learns from another node how a session ended there (the device's task_end or
   * error, or its departure): the session ends here too and the owner is told, once.
   */
  public void remoteOutcome(String sessionId, SessionState outcome, Object result, String error) {
    Session running = sessions.running(sessionId).orElse(null);
    if (running == null || !outcome.isFinal()) {
      return;
    }
    sessions
        .finish(running, outcome, result, error)
        .ifPresent(
            done -> {
              events.taskEndReceived(done, System.nanoTime());
              finished(done);
            });
  }

  /** The executing side learns that the owner's node cancelled a session: stop the device. */
  public void remoteCancel(String sessionId, String reason) {
    sessions.running(sessionId).ifPresent(s -> cancel(s, reason));
  }

  // ------------------------------------------------------------------------------ departures

  /**
   * The one disconnect path: called once when a registered connection closed. Does nothing when a
   * takeover already gave the id to another connection.
   */
  public void disconnected(ClientConnection conn, Identity id) {
    Optional<Departure> departure = registry.removeClient(id.clientId(), conn);
    if (departure.isEmpty()) {
      return;
    }
    int ended = 0;
    for (String sessionId : departure.get().sessions()) {
      Optional<Session> running = sessions.running(sessionId);
      if (running.isEmpty()) {
        continue;
      }
      if (id.isDevice()) {
        Optional<Session> failed =
            sessions.finish(running.get(), SessionState.FAILED, null, DEVICE_DISCONNECTED);
        if (failed.isPresent()) {
          finished(failed.get());
          ended++;
        }
      } else {
        Optional<Session> cancelled = cancel(running.get(), CONSTELLATION_DISCONNECTED);
        if (cancelled.isPresent()) {
          ended++;
        }
      }
    }
    events.departed(id, ended);
  }

  /**
   * Cancels a running session: the device is told to stop, and the owner gets (or is held) the
   * outcome.
   */
  public Optional<Session> cancel(Session running, String reason) {
    Optional<Session> cancelled = sessions.finish(running, SessionState.CANCELLED, null, reason);
    cancelled.ifPresent(
        c -> {
          registry
              .getClientInfo(c.executorId())
              .filter(ClientInfo::isDevice)
              .ifPresent(d -> d.connection().send(messages.cancelForDevice(c.id(), reason)));
          finished(c);
        });
    return cancelled;
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
    int n = 0;
    for (Session running : sessions.list(Session::isRunning, Integer.MAX_VALUE)) {
      Optional<Session> failed = sessions.finish(running, SessionState.FAILED, null, reason);
      if (failed.isPresent()) {
        Session f = failed.get();
        registry
            .getClientInfo(f.executorId())
            .filter(ClientInfo::isDevice)
            .ifPresent(d -> d.connection().send(messages.cancelForDevice(f.id(), reason)));
        finished(f);
        n++;
      }
    }
    return n;
  }

  // -------------------------------------------------------------------------------- outcomes

  /** Unmaps a session that reached its final state and tells its owner. */
  private void finished(Session done) {
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

  private void drainHeld(String owner, ClientConnection conn) {
    for (Session s : takeHeld(owner)) {
      conn.deliver(messages.taskEnd(s), () -> deliveryFailed(s, conn));
    }
  }

  /**
   * Keeps a finished session's outcome for its offline owner ({@link SessionTable#hold}). Every
   * hold goes through here, so that listeners hear of each one; one that does not fit the held
   * store's limits is reported by the table ({@link RouterEvents#heldOutcomeDropped}).
   */
  public void hold(Session done) {
    if (sessions.hold(done)) {
      events.heldChanged(done);
    }
  }

  /**
   * Hands out, once, every outcome held for {@code ownerId} ({@link SessionTable#takeHeld}), and
   * tells the listeners that each one is held no longer.
   */
  public List<Session> takeHeld(String ownerId) {
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
