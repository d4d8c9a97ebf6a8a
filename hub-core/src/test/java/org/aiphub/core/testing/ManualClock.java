package org.aiphub.core.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock the test moves by hand, always in UTC: the one test clock of the project (hub-core's
 * tests, and hub-server's and hub-bench's through hub-core's test jar). Safe to read from any
 * thread.
 */
public final class ManualClock extends Clock {
  /** Where a clock made with {@link #ManualClock()} starts. */
  public static final Instant DEFAULT_START = Instant.parse("2026-11-25T14:30:00Z");

  private volatile Instant now;

  /** A clock at {@link #DEFAULT_START}. */
  public ManualClock() {
    this(DEFAULT_START);
  }

  /** A clock at {@code start}. */
  public ManualClock(Instant start) {
    this.now = start;
  }

  /** Moves the clock forward (or back, for a negative {@code d}). */
  public void advance(Duration d) {
    now = now.plus(d);
  }

  /** Sets the clock to {@code instant}. */
  public void set(Instant instant) {
    now = instant;
  }

  @Override
  public Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  /** The same clock: a test clock stays in UTC. */
  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
