package org.aiphub.server.route;

import org.aiphub.core.aip.ClientType;
import org.aiphub.core.session.Session;

/**
 * What the router reports as it works (metrics and logs listen here). Every method has an empty
 * default, is called on the thread doing the work, and must not block.
 */
public interface RouterEvents {
  /** Does nothing. */
  RouterEvents NONE = new RouterEvents() {};

  /** A client registered. */
  default void registered(Identity identity, String remoteAddress) {}

  /** A registered client sent a heartbeat. */
  default void heartbeat(Identity identity) {}

  /** A registration was refused; {@code outcome} is a short label such as {@code duplicate}. */
  default void registrationRefused(String outcome, String remoteAddress) {}

  /** A registered client left (after cleanup). */
  default void departed(Identity identity, int sessionsEnded) {}

  /** A connection was closed because another took over its client id. */
  default void takenOver(String clientId, ClientType type) {}

  /** A frame from a registered client was refused; {@code reason} is a short label. */
  default void refused(Identity identity, String reason) {}

  /** A session was dispatched to its device; {@code receivedNanos} is when its task arrived. */
  default void sessionStarted(Session session, long receivedNanos) {}

  /**
   * The task frame of a session was written to its device; {@code receivedNanos} is when the
   * constellation's task arrived.
   */
  default void taskDispatched(Session session, long receivedNanos) {}

  /**
   * A device ended a session with {@code task_end} or {@code error}; {@code receivedNanos} is when
   * that frame arrived.
   */
  default void taskEndReceived(Session session, long receivedNanos) {}

  /** A device refreshed its system info ({@code device_info_response}). */
  default void deviceInfoUpdated(String deviceId, java.util.Map<String, Object> reported) {}

  /** A session reached its final state. */
  default void sessionFinished(Session session) {}

  /**
   * A finished session's outcome started waiting for its offline owner, or stopped waiting (it was
   * handed out): its {@link Session#held()} flag in the session table changed.
   */
  default void heldChanged(Session session) {}

  /**
   * An outcome held (or about to be held) for an offline owner was dropped before that owner took
   * it; {@code reason} is {@code age}, {@code owner_limit} or {@code hub_limit}. The session's held
   * flag is false now.
   */
  default void heldOutcomeDropped(Session session, String reason) {}

  /**
   * A client went past a documented per-client limit ({@code limit} is its config key, e.g. {@code
   * max_client_info_bytes}) and pays for it (its frame or its registration is refused). The same
   * method as {@code ConnectionEvents#limitExceeded}: a listener of both hears each hit once.
   */
  default void limitExceeded(String limit) {}
}
