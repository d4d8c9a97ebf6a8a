package org.aiphub.server.netty;

import org.aiphub.core.aip.ClientMessageType;

/**
 * What the transport reports about connections (metrics listen here). Every method has an empty
 * default, runs on an event loop and must not block.
 */
public interface ConnectionEvents {
  /** Does nothing. */
  ConnectionEvents NONE = new ConnectionEvents() {};

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
}
