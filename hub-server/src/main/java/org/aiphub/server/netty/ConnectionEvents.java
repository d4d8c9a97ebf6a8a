package org.aiphub.server.netty;

import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ServerMessageType;

/**
 * What the transport reports about connections (metrics listen here). Every method has an empty
 * default, runs on an event loop and must not block.
 */
public interface ConnectionEvents {
  /** Does nothing. */
  ConnectionEvents NONE = new ConnectionEvents() {};

  /** A WebSocket connection was accepted (the upgrade completed). */
  default void connected(String remoteAddress) {}

  /** A WebSocket connection closed; {@code clientId} is null when it never registered. */
  default void closed(String remoteAddress, String clientId) {}

  /** An AIP message is being written. */
  default void messageOut(ServerMessageType type) {}

  /**
   * A socket was turned away before any AIP traffic: {@code too_many_connections}, {@code
   * too_many_from_address} or {@code handshake_timeout}.
   */
  default void connectionRefused(String reason) {}

  /**
   * The access checks refused an HTTP request (a WebSocket upgrade or an API call) for a bad {@code
   * Host}, a bad {@code Origin}, a missing or wrong key, or an upgrade over its address's rate.
   */
  default void requestRefused(RequestRefusal reason) {}

  /** A decoded AIP message arrived. */
  default void messageIn(ClientMessageType type) {}

  /** A frame did not decode; {@code reason} is the decode failure's label. */
  default void frameRejected(String reason) {}

  /** A socket upgraded but did not register in time. */
  default void registrationTimedOut() {}

  /** A registration failed before reaching the router (a bad first frame). */
  default void registrationRefused(String outcome) {}

  /** A client was closed for sending too many bad frames. */
  default void tooManyBadFrames() {}

  /** A client was closed because it stopped reading. */
  default void slowConsumerClosed() {}

  /** A client was closed because it stayed silent after a ping. */
  default void idleClosed() {}

  /**
   * A client went past a documented per-client limit ({@code limit} is its config key, e.g. {@code
   * max_fragments_per_message} or {@code slow_consumer_max_bytes}) and pays for it (usually with
   * its connection).
   */
  default void limitExceeded(String limit) {}
}
