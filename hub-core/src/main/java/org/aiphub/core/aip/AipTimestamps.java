package org.aiphub.core.aip;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** ISO 8601 timestamps in the shape Python's {@code datetime.isoformat()} gives for UTC. */
public final class AipTimestamps {
  // Microseconds and "+00:00" rather than "Z": older Python fromisoformat() rejects "Z".
  private static final DateTimeFormatter SECONDS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);
  private static final String OFFSET = "+00:00";

  /**
   * The formatted second last asked for. Every server frame carries a timestamp, and
   * DateTimeFormatter allocated a ZoneRules and BigDecimals per call (a fifth of the hub's
   * allocation under load, JFR): within one second only the microseconds change.
   */
  private static volatile Second last = new Second(Long.MIN_VALUE, "");

  private record Second(long epochSecond, String text) {}

  private AipTimestamps() {}

  /**
   * Formats an instant, e.g. {@code 2026-11-25T14:30:22.483000+00:00}; sub-microsecond digits are
   * cut, not rounded.
   */
  public static String format(Instant instant) {
    long epochSecond = instant.getEpochSecond();
    Second s = last;
    if (s.epochSecond() != epochSecond) {
      s = new Second(epochSecond, SECONDS.format(Instant.ofEpochSecond(epochSecond)));
      last = s;
    }
    int micros = instant.getNano() / 1000;
    StringBuilder b = new StringBuilder(s.text().length() + 7 + OFFSET.length());
    b.append(s.text()).append('.');
    for (int div = 100_000; div > 0; div /= 10) {
      b.append((char) ('0' + micros / div % 10));
    }
    return b.append(OFFSET).toString();
  }

  /** The clock's current time, formatted. */
  public static String now(Clock clock) {
    return format(clock.instant());
  }
}
