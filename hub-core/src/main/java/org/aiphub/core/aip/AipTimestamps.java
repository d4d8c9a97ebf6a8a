package org.aiphub.core.aip;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** ISO 8601 timestamps in the shape Python's {@code datetime.isoformat()} gives for UTC. */
public final class AipTimestamps {
  // Microseconds and "+00:00" rather than "Z": older Python fromisoformat() rejects "Z".
  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.UTC);

  private AipTimestamps() {}

  /** Formats an instant, e.g. {@code 2026-11-25T14:30:22.483000+00:00}. */
  public static String format(Instant instant) {
    return FORMAT.format(instant);
  }

  /** The clock's current time, formatted. */
  public static String now(Clock clock) {
    return format(clock.instant());
  }
}
