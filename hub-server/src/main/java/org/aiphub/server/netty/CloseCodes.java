package org.aiphub.server.netty;

/** WebSocket close codes the hub uses (RFC 6455 section 7.4, and the 4000 application range). */
public final class CloseCodes {
  /** Normal closure, e.g. answering the client's own close. */
  public static final int NORMAL = 1000;

  /** The hub is shutting down. */
  public static final int GOING_AWAY = 1001;

  /**
   * WebSocket protocol error: bad framing, an invalid close frame, data before the handshake
   * completed.
   */
  public static final int PROTOCOL_ERROR = 1002;

  /** Invalid UTF-8 in a text frame or a close reason. */
  public static final int INVALID_PAYLOAD = 1007;

  /** Policy violation: registration failed or timed out, too many bad frames, slow consumer. */
  public static final int POLICY_VIOLATION = 1008;

  /** A message larger than {@code max_frame_bytes}, or in more than max_fragments_per_message. */
  public static final int MESSAGE_TOO_BIG = 1009;

  /** An unexpected error inside the hub. */
  public static final int INTERNAL_ERROR = 1011;

  /** Another connection registered with this client id under the takeover policy. */
  public static final int TAKEN_OVER = 4000;

  /** Silent for the idle timeout and did not answer a ping. */
  public static final int IDLE_TIMEOUT = 4001;

  private CloseCodes() {}
}
