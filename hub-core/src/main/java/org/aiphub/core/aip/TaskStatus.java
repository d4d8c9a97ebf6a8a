package org.aiphub.core.aip;

/** Status carried by every AIP message. */
public enum TaskStatus {
  CONTINUE("continue"),
  COMPLETED("completed"),
  FAILED("failed"),
  OK("ok"),
  ERROR("error");

  private static final TaskStatus[] VALUES = values();

  private final String wire;

  TaskStatus(String wire) {
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
  public static TaskStatus fromWire(String wire) {
    for (TaskStatus v : VALUES) {
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
