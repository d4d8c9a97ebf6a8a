package org.aiphub.core.aip;

/** Kind of tool a {@link Command} invokes. */
public enum ToolType {
  DATA_COLLECTION("data_collection"),
  ACTION("action");

  private static final ToolType[] VALUES = values();

  private final String wire;

  ToolType(String wire) {
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
  public static ToolType fromWire(String wire) {
    for (ToolType v : VALUES) {
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
