package org.aiphub.core.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.aiphub.core.session.HeldOutcomes.DropReason;
import org.aiphub.core.session.HeldOutcomes.Limits;
import org.aiphub.core.session.HeldOutcomes.Sizes;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link HeldOutcomes}, for every implementation: extend it and say how to make a
 * store ({@code InMemoryHeldOutcomesTest}; a store for cluster mode runs the same tests).
 */
public abstract class HeldOutcomesContractTest {
  /** When the tests start. */
  protected static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  /** The clock every store in these tests ages its outcomes by. */
  protected final ManualClock clock = new ManualClock(T0);

  private long runs;

  /** A new, empty store with these limits, aging outcomes by {@code clock}. */
  protected abstract HeldOutcomes create(Limits limits, Clock clock);

  private HeldOutcomes store(Limits limits) {
    return create(limits, clock);
  }

  private HeldOutcomes unlimited() {
    return store(new Limits(1000, 1L << 40, 1L << 40, Duration.ofHours(1)));
  }

  /** A finished session of {@code owner} that ended now, with {@code result}. */
  protected Session outcome(String id, String owner, Object result) {
    Instant now = clock.instant();
    return new Session(
        id,
        ++runs,
        owner,
        "dev-1",
        "task-" + id,
        "request " + id,
        SessionState.COMPLETED,
        now.minusSeconds(1),
        now,
        result,
        null,
        false);
  }

  @Test
  void takeForHandsEachOutcomeOutOnceOldestFirstWhole() {
    HeldOutcomes s = unlimited();
    Session a = outcome("a", "c1", Map.of("rows", List.of(1, 2, 3)));
    clock.advance(Duration.ofSeconds(1));
    Session b = outcome("b", "c1", "b's result");
    Session c = outcome("c", "c1", null); // same instant as b, later run
    Session other = outcome("o", "c2", 7);
    assertThat(s.hold(c, 100)).isEmpty();
    assertThat(s.hold(other, 100)).isEmpty();
    assertThat(s.hold(a, 100)).isEmpty();
    assertThat(s.hold(b, 100)).isEmpty();

    List<Session> taken = s.takeFor("c1");

    assertThat(taken).extracting(Session::id).containsExactly("a", "b", "c");
    assertThat(taken.get(0).result()).isEqualTo(Map.of("rows", List.of(1, 2, 3)));
    assertThat(taken).extracting(Session::run).containsExactly(a.run(), b.run(), c.run());
    assertThat(taken).noneMatch(Session::held);
    assertThat(s.takeFor("c1")).as("handed out once").isEmpty();
    assertThat(s.takeFor("c2")).extracting(Session::id).containsExactly("o");
    assertThat(s.takeFor(null)).isEmpty();
    assertThat(s.takeFor("nobody")).isEmpty();
  }

  @Test
  void peekShowsAnOutcomeWithoutTakingIt() {
    HeldOutcomes s = unlimited();
    Session a = outcome("a", "c1", "r");
    s.hold(a, 10);

    assertThat(s.peek(a.key())).hasValueSatisfying(p -> assertThat(p.result()).isEqualTo("r"));
    assertThat(s.peek(new SessionKey("a", a.run() + 1))).isEmpty();
    assertThat(s.sizes()).isEqualTo(new Sizes(1, 10));
    s.takeFor("c1");
    assertThat(s.peek(a.key())).isEmpty();
  }

  @Test
  void holdingTheSameRunTwiceKeepsItOnce() {
    HeldOutcomes s = unlimited();
    Session a = outcome("a", "c1", "r");

    assertThat(s.hold(a, 10)).isEmpty();
    assertThat(s.hold(a, 10)).isEmpty();

    assertThat(s.sizes()).isEqualTo(new Sizes(1, 10));
    assertThat(s.takeFor("c1")).hasSize(1);
  }

  @Test
  void anOwnerPastItsCountGetsNoMoreAndKeepsWhatItHas() {
    HeldOutcomes s = store(new Limits(2, 1000, 10_000, Duration.ofHours(1)));
    assertThat(s.hold(outcome("a", "c1", null), 10)).isEmpty();
    assertThat(s.hold(outcome("b", "c1", null), 10)).isEmpty();

    assertThat(s.hold(outcome("c", "c1", null), 10)).contains(DropReason.OWNER_LIMIT);
    assertThat(s.hold(outcome("x", "c2", null), 10)).as("another owner").isEmpty();

    assertThat(s.sizes("c1")).isEqualTo(new Sizes(2, 20));
    assertThat(s.takeFor("c1")).extracting(Session::id).containsExactly("a", "b");
    assertThat(s.hold(outcome("d", "c1", null), 10)).as("room again").isEmpty();
  }

  @Test
  void anOwnerPastItsBytesGetsNoMore() {
    HeldOutcomes s = store(new Limits(100, 1000, 10_000, Duration.ofHours(1)));
    assertThat(s.hold(outcome("a", "c1", null), 600)).isEmpty();

    assertThat(s.hold(outcome("b", "c1", null), 401)).contains(DropReason.OWNER_LIMIT);
    assertThat(s.hold(outcome("c", "c1", null), 400)).isEmpty();
    assertThat(s.hold(outcome("huge", "c2", null), 1001))
        .as("bigger than an owner may hold at all")
        .contains(DropReason.OWNER_LIMIT);

    assertThat(s.sizes("c1")).isEqualTo(new Sizes(2, 1000));
    assertThat(s.sizes("c2")).isEqualTo(Sizes.NONE);
  }

  @Test
  void pastTheHubsBytesNothingMoreIsHeldAndNothingHeldIsEvicted() {
    HeldOutcomes s = store(new Limits(100, 1000, 1500, Duration.ofHours(1)));
    assertThat(s.hold(outcome("a", "c1", null), 1000)).isEmpty();
    assertThat(s.hold(outcome("b", "c2", null), 400)).isEmpty();

    assertThat(s.hold(outcome("c", "c3", null), 101)).contains(DropReason.HUB_LIMIT);

    assertThat(s.sizes()).isEqualTo(new Sizes(2, 1400));
    assertThat(s.takeFor("c1")).extracting(Session::id).containsExactly("a");
    assertThat(s.hold(outcome("c", "c3", null), 101)).isEmpty();
  }

  @Test
  void anotherOwnersTrafficNeverEvictsAnOutcome() {
    HeldOutcomes s = store(new Limits(50, 10_000, 100_000, Duration.ofHours(1)));
    Session mine = outcome("mine", "victim", "precious");
    s.hold(mine, 100);

    int refused = 0;
    for (int i = 0; i < 2000; i++) {
      refused += s.hold(outcome("spam-" + i, "attacker", "x"), 10).isPresent() ? 1 : 0;
    }
    for (int i = 0; i < 2000; i++) {
      refused += s.hold(outcome("spam2-" + i, "attacker-" + i, "x"), 90).isPresent() ? 1 : 0;
    }

    assertThat(refused).isPositive();
    assertThat(s.peek(mine.key())).isPresent();
    assertThat(s.takeFor("victim")).extracting(Session::result).containsExactly("precious");
  }

  @Test
  void outcomesLeaveByAgeOnceEachAndAreNeverHandedOutOld() {
    HeldOutcomes s = store(new Limits(100, 10_000, 100_000, Duration.ofMinutes(10)));
    Session old = outcome("old", "c1", null);
    s.hold(old, 10);
    clock.advance(Duration.ofMinutes(5));
    Session fresh = outcome("fresh", "c1", null);
    s.hold(fresh, 10);
    clock.advance(Duration.ofMinutes(5).plusMillis(1));

    assertThat(s.takeFor("c1")).extracting(Session::id).containsExactly("fresh");
    assertThat(s.peek(old.key())).as("left for expire").isPresent();
    assertThat(s.expire()).extracting(Session::id).containsExactly("old");
    assertThat(s.expire()).isEmpty();
    assertThat(s.sizes()).isEqualTo(Sizes.NONE);
    assertThat(s.sizes("c1")).isEqualTo(Sizes.NONE);
  }

  @Test
  void anOutcomeAlreadyPastTheAgeIsNotHeld() {
    HeldOutcomes s = store(new Limits(100, 10_000, 100_000, Duration.ofMinutes(10)));
    Session old = outcome("old", "c1", null);
    clock.advance(Duration.ofMinutes(11));

    assertThat(s.hold(old, 10)).contains(DropReason.AGE);
    assertThat(s.sizes()).isEqualTo(Sizes.NONE);
  }

  @Test
  void sizesAddUpAndReturnToNothing() {
    HeldOutcomes s = unlimited();
    s.hold(outcome("a", "c1", null), 10);
    s.hold(outcome("b", "c1", null), 20);
    s.hold(outcome("c", "c2", null), 40);

    assertThat(s.sizes()).isEqualTo(new Sizes(3, 70));
    assertThat(s.sizes("c1")).isEqualTo(new Sizes(2, 30));
    s.takeFor("c1");
    s.takeFor("c2");
    assertThat(s.sizes()).isEqualTo(Sizes.NONE);
  }

  @Test
  void onlyFinishedOutcomesWithAnOwnerCanBeHeld() {
    HeldOutcomes s = unlimited();
    Session ownerless = outcome("h", null, null);
    Session running =
        new Session(
            "r", ++runs, "c1", "d", null, null, SessionState.RUNNING, T0, null, null, null, false);

    assertThatThrownBy(() -> s.hold(ownerless, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> s.hold(running, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThat(s.sizes()).isEqualTo(Sizes.NONE);
  }

  @Test
  void concurrentHoldsAndTakesHandEveryOutcomeOutExactlyOnce() throws Exception {
    HeldOutcomes s = store(new Limits(10_000, 1L << 40, 1L << 40, Duration.ofHours(1)));
    int holders = 2;
    int each = 2000;
    List<List<Session>> slices = new ArrayList<>();
    for (int h = 0; h < holders; h++) {
      List<Session> slice = new ArrayList<>();
      for (int i = 0; i < each; i++) {
        slice.add(outcome("s" + h + "-" + i, "c1", i));
      }
      slices.add(slice);
    }
    ExecutorService pool = Executors.newFixedThreadPool(holders + 1);
    try {
      CountDownLatch start = new CountDownLatch(1);
      AtomicInteger holding = new AtomicInteger(holders);
      List<Future<?>> futures = new ArrayList<>();
      for (List<Session> slice : slices) {
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  for (Session o : slice) {
                    assertThat(s.hold(o, 1)).isEqualTo(Optional.empty());
                  }
                  holding.decrementAndGet();
                  return null;
                }));
      }
      List<Session> taken = Collections.synchronizedList(new ArrayList<>());
      Future<?> taker =
          pool.submit(
              () -> {
                start.await();
                while (holding.get() > 0) {
                  taken.addAll(s.takeFor("c1"));
                }
                return null;
              });
      start.countDown();
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
      taker.get(60, TimeUnit.SECONDS);
      taken.addAll(s.takeFor("c1"));

      assertThat(taken).extracting(Session::id).doesNotHaveDuplicates().hasSize(holders * each);
      assertThat(s.sizes()).isEqualTo(Sizes.NONE);
    } finally {
      pool.shutdownNow();
    }
  }
}
