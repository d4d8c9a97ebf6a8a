package org.aiphub.core.aip;

/** Types of message a client sends to the hub. */
public enum ClientMessageType {
  TASK("task"),
  HEARTBEAT("heartbeat"),
  COMMAND_RESULTS("command_results"),
  ERROR("error"),
  REGISTER("register"),
  TASK_END("task_end"),
  DEVICE_INFO_REQUEST("device_info_request"),
  DEVICE_INFO_RESPONSE("device_info_response");

  private static final ClientMessageType[] VALUES = values();

  private final String wire;

  ClientMessageType(String wire) {
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
  public static ClientMessageType fromWire(String wire) {
    for (ClientMessageType v : VALUES) {
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
