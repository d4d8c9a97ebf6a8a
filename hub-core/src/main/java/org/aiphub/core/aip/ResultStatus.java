package org.aiphub.core.aip;

/** Outcome of one command executed by a device. */
public enum ResultStatus {
  SUCCESS("success"),
  FAILURE("failure"),
  SKIPPED("skipped"),
  NONE("none");

  private static final ResultStatus[] VALUES = values();

  private final String wire;

  ResultStatus(String wire) {
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
  public static ResultStatus fromWire(String wire) {
    for (ResultStatus v : VALUES) {
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
