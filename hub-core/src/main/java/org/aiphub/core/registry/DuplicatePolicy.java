package org.aiphub.core.registry;

import java.util.Locale;

/** What {@link ClientRegistry#addClient} does when the client id is already online. */
public enum DuplicatePolicy {
  /** Refuse the newcomer; the live entry stays untouched (the reference server's behaviour). */
  REJECT,
  /**
   * Replace the live entry with the newcomer, who keeps its sessions; the caller closes the
   * displaced connection. Refused when the newcomer's client type differs.
   */
  TAKEOVER;

  /** The config spelling, {@code reject} or {@code takeover}. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses the config spelling (case-insensitive); {@code null} when unknown. */
  public static DuplicatePolicy fromWire(String s) {
    for (DuplicatePolicy p : values()) {
      if (p.wire().equalsIgnoreCase(s)) {
        return p;
      }
    }
    return null;
  }
}
