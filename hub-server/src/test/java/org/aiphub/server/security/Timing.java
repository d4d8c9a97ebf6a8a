package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

/**
 * Time bounds for what the hub does on its own timers (idle and ping timeouts, the slow-consumer,
 * handshake and registration timeouts): it happens no sooner than the configured time after the
 * moment that starts the timer, and no later than that time plus {@link #SLACK}. The slack is
 * generous because the tests share two noisy cores, yet far below the sockets' 15 s read timeouts,
 * so a timer that does not fire fails the bound instead of a read that merely gives up.
 */
final class Timing {
  /** What a loaded machine may add to a configured time. */
  static final Duration SLACK = Duration.ofSeconds(5);

  private Timing() {}

  /** Now, to start a measurement. */
  static long now() {
    return System.nanoTime();
  }

  /** Time since {@code startNanos}. */
  static Duration since(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  /**
   * {@code what} was observed now, at least {@code configured} and at most {@code configured} plus
   * the slack after {@code startNanos} (a moment taken before the hub's timer could start).
   */
  static void assertAfterConfiguredTime(String what, long startNanos, Duration configured) {
    Duration took = since(startNanos);
    assertThat(took)
        .as("%s: not before the configured %s", what, configured)
        .isGreaterThanOrEqualTo(configured);
    assertThat(took)
        .as("%s: within the configured %s plus %s", what, configured, SLACK)
        .isLessThanOrEqualTo(configured.plus(SLACK));
  }

  /** {@code what} was observed now, at most {@code configured} plus the slack after the start. */
  static void assertWithinConfiguredTime(String what, long startNanos, Duration configured) {
    assertThat(since(startNanos))
        .as("%s: within the configured %s plus %s", what, configured, SLACK)
        .isLessThanOrEqualTo(configured.plus(SLACK));
  }

  /** What is left of {@code configured} plus the slack since {@code startNanos} (at least 1 ms). */
  static Duration remaining(long startNanos, Duration configured) {
    Duration left = configured.plus(SLACK).minus(since(startNanos));
    return left.compareTo(Duration.ofMillis(1)) < 0 ? Duration.ofMillis(1) : left;
  }
}
