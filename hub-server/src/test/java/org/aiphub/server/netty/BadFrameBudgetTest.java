package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BadFrameBudgetTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

  @Test
  void allowsExactlyTheBudgetPerWindow() {
    BadFrameBudget budget = new BadFrameBudget(3);
    long t = 1_000 * SECOND;

    assertThat(budget.record(t)).isTrue();
    assertThat(budget.record(t + SECOND)).isTrue();
    assertThat(budget.record(t + 2 * SECOND)).isTrue();
    assertThat(budget.record(t + 3 * SECOND)).isFalse();
    assertThat(budget.record(t + 4 * SECOND)).isFalse();
  }

  @Test
  void theWindowLastsOneMinuteFromItsFirstBadFrame() {
    BadFrameBudget budget = new BadFrameBudget(2);
    long t = 5 * SECOND;
    budget.record(t);
    budget.record(t + 30 * SECOND);

    assertThat(budget.record(t + MINUTE - 1)).as("still the same window").isFalse();
    assertThat(budget.record(t + MINUTE)).as("a new window").isTrue();
    assertThat(budget.record(t + MINUTE + SECOND)).isTrue();
    assertThat(budget.record(t + MINUTE + 2 * SECOND)).isFalse();
  }

  @Test
  void aQuietClientStartsAfreshAfterAMinute() {
    BadFrameBudget budget = new BadFrameBudget(1);
    assertThat(budget.record(0)).isTrue();
    assertThat(budget.record(1)).isFalse();

    assertThat(budget.record(10 * MINUTE)).isTrue();
    assertThat(budget.record(10 * MINUTE + 1)).isFalse();
  }

  @Test
  void aZeroBudgetRefusesTheFirstBadFrame() {
    assertThat(new BadFrameBudget(0).record(42)).isFalse();
  }

  @Test
  void worksWithNegativeAndWrappingNanoTimes() {
    BadFrameBudget negative = new BadFrameBudget(1);
    assertThat(negative.record(Long.MIN_VALUE + 10)).isTrue();
    assertThat(negative.record(Long.MIN_VALUE + 20)).isFalse();

    BadFrameBudget wrapping = new BadFrameBudget(1);
    long start = Long.MAX_VALUE - SECOND;
    assertThat(wrapping.record(start)).isTrue();
    // System.nanoTime() may wrap: two seconds later is numerically negative
    assertThat(wrapping.record(start + 2 * SECOND)).as("same window across the wrap").isFalse();
    assertThat(wrapping.record(start + 2 * MINUTE)).as("a new window across the wrap").isTrue();
  }
}
