package org.aiphub.core.aip;

/** Types of message the hub sends to a client. */
public enum ServerMessageType {
  TASK("task"),
  HEARTBEAT("heartbeat"),
  TASK_END("task_end"),
  COMMAND("command"),
  ERROR("error"),
  DEVICE_INFO_REQUEST("device_info_request"),
  DEVICE_INFO_RESPONSE("device_info_response");

  private static final ServerMessageType[] VALUES = values();

  private final String wire;

  ServerMessageType(String wire) {
    this.wire = wire;
  }

  /** The lower-case spelling used on the wire. */
  public String wire() {
    return wire;
  }

  /**
   * The constant whose wire spelling is {@code wire} (exact, case-sensitive, as the reference
   * clients send it), or {@code null} when there is none.
   */
  public static ServerMessageType fromWire(String wire) {
    for (ServerMessageType v : VALUES) {
      if (v.wire.equals(wire)) {
        return v;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return wire;
  }
}
