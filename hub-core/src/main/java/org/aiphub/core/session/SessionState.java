package org.aiphub.core.session;

import java.util.Locale;

/** Life of a session: RUNNING, then exactly one of the three final states. */
public enum SessionState {
  /** Dispatched to its device, no outcome yet. */
  RUNNING,
  /** The device reported {@code completed}. */
  COMPLETED,
  /** The device reported failure, or the device went away. */
  FAILED,
  /** Its owner went away (or the hub shut down) before the device finished. */
  CANCELLED;

  /** Lower-case name for JSON and metrics. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@link #wire()} (case-insensitive); {@code null} when unknown. */
  public static SessionState fromWire(String s) {
    for (SessionState v : values()) {
      if (v.wire().equalsIgnoreCase(s)) {
        return v;
      }
    }
    return null;
  }

  /** True for the three final states. */
  public boolean isFinal() {
    return this != RUNNING;
  }
}
