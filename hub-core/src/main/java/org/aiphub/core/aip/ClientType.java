package org.aiphub.core.aip;

/** The two kinds of AIP client: device agents and constellation orchestrators. */
public enum ClientType {
  DEVICE("device"),
  CONSTELLATION("constellation");

  private static final ClientType[] VALUES = values();

  private final String wire;

  ClientType(String wire) {
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
  public static ClientType fromWire(String wire) {
    for (ClientType v : VALUES) {
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
