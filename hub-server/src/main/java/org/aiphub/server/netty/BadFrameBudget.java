package org.aiphub.server.netty;

/**
 * Counts undecodable frames per one-minute window; a client over its budget is closed. Used by one
 * connection on its event loop only, so it needs no synchronisation.
 */
final class BadFrameBudget {
  private static final long WINDOW_NANOS = 60_000_000_000L;

  private final int perMinute;
  private long windowStart;
  private int count;

  BadFrameBudget(int perMinute) {
    this.perMinute = perMinute;
  }

  /** Records one bad frame at {@code nowNanos}; true while the client is still within budget. */
  boolean record(long nowNanos) {
    if (count == 0 || nowNanos - windowStart >= WINDOW_NANOS) {
      windowStart = nowNanos;
      count = 0;
    }
    count++;
    return count <= perMinute;
  }
}
