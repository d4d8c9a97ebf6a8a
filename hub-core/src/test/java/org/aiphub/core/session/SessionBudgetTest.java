package org.aiphub.core.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.json.JsonFootprint;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** What the session table keeps, in bytes: truncation markers, byte budgets, held outcomes. */
class SessionBudgetTest {
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private final ManualClock clock = new ManualClock(T0);
  private final List<String> drops = new ArrayList<>();

  private SessionTable table(SessionBudget budget, HeldOutcomes.Limits held) {
    SessionTable t =
        new SessionTable(
            10_000, Duration.ofHours(1), budget, new InMemoryHeldOutcomes(held, clock), clock);
    t.onHeldDropped((s, why) -> drops.add(s.id() + ":" + why.label()));
    return t;
  }

  private SessionTable table(SessionBudget budget) {
    return table(budget, HeldOutcomes.Limits.ageOnly(Duration.ofHours(1)));
  }

  private static Map<String, Object> bigObject(int fields) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < fields; i++) {
      m.put("field_" + i, "value " + i);
    }
    return m;
  }

  private static Session run(SessionTable t, String id, String owner, Object result)
      throws Exception {
    Session s = t.reserve(id, owner, "dev-1", "task", "do " + id).session();
    return t.finish(s, SessionState.COMPLETED, result, null).orElseThrow();
  }

  @Nested
  class Truncating {
    @Test
    void aLongRequestIsKeptAsItsBeginningWithItsLength() throws Exception {
      SessionTable t = table(new SessionBudget(100, 1L << 20, 1L << 30, 1L << 30));
      String request = "é".repeat(2000); // 4000 bytes of UTF-8

      Session kept = t.reserve("s", "c1", "d", "task", request).session();

      assertThat(kept.requestTruncated()).isTrue();
      assertThat(kept.requestBytes()).isEqualTo(4000);
      assertThat(kept.request()).isEqualTo("é".repeat(Truncation.PREVIEW_CHARS));
      assertThat(Truncation.request(kept))
          .isEqualTo(
              Map.of(
                  "truncated",
                  true,
                  "bytes",
                  4000L,
                  "preview",
                  "é".repeat(Truncation.PREVIEW_CHARS)));
      Session shortOne = t.reserve("t", "c1", "d", "task", "x".repeat(100)).session();
      assertThat(shortOne.requestTruncated()).isFalse();
      assertThat(Truncation.request(shortOne)).isEqualTo("x".repeat(100));
    }

    @Test
    void aLongResultIsWholeForTheCallerAndAMarkerInTheHistory() throws Exception {
      SessionTable t = table(new SessionBudget(1L << 20, 2048, 1L << 30, 1L << 30));
      Map<String, Object> result = bigObject(200);
      long jsonBytes = JsonFootprint.of(result).jsonBytes();

      Session done = run(t, "s", "c1", result);

      assertThat(done.result()).isEqualTo(result);
      Object kept = t.get("s").orElseThrow().result();
      assertThat(kept).isInstanceOf(Map.class);
      Map<?, ?> marker = (Map<?, ?>) kept;
      assertThat(new ArrayList<Object>(marker.keySet()))
          .containsExactly("truncated", "bytes", "preview");
      assertThat(marker.get("truncated")).isEqualTo(true);
      assertThat(marker.get("bytes")).isEqualTo(jsonBytes);
      assertThat((String) marker.get("preview"))
          .startsWith("{\"field_0\":\"value 0\",\"field_1\"")
          .hasSize(Truncation.PREVIEW_CHARS);

      Session small = run(t, "small", "c1", Map.of("rows", 42));
      assertThat(t.get("small")).containsSame(small);
    }

    @Test
    void aHeldOutcomeIsKeptWholeWhileItsHistoryRecordIsTruncated() throws Exception {
      SessionTable t = table(new SessionBudget(1L << 20, 2048, 1L << 30, 1L << 30));
      Map<String, Object> result = bigObject(200);
      Session done = run(t, "s", "c1", result);

      assertThat(t.hold(done)).isTrue();

      assertThat(((Map<?, ?>) t.get("s").orElseThrow().result()).get("truncated")).isEqualTo(true);
      List<Session> taken = t.takeHeld("c1");
      assertThat(taken).hasSize(1);
      assertThat(taken.get(0).result()).isEqualTo(result);
    }
  }

  @Nested
  class Budgets {
    @Test
    void anOwnerOverItsBytesLosesItsOwnOldestHistoryNotOthers() throws Exception {
      SessionTable probe = table(SessionBudget.UNLIMITED);
      run(probe, "p", "attacker", bigObject(20));
      long one = probe.keptBytes();
      SessionTable t = table(new SessionBudget(1L << 20, 1L << 20, 5 * one + one / 2, 1L << 30));
      Session innocent = run(t, "innocent", "victim", bigObject(20));

      for (int i = 0; i < 50; i++) {
        run(t, "a" + i, "attacker", bigObject(20));
      }

      assertThat(t.keptBytes("attacker")).isLessThanOrEqualTo(5 * one + one / 2);
      assertThat(t.runs("a49", 1)).isNotEmpty();
      assertThat(t.runs("a0", 1)).as("the attacker's oldest went").isEmpty();
      assertThat(t.get("innocent")).containsSame(innocent);
      assertThat(t.historySize()).isEqualTo(6);
    }

    @Test
    void pastTheHubsBytesTheOldestHistoryGoes() throws Exception {
      SessionTable probe = table(SessionBudget.UNLIMITED);
      run(probe, "p", "c", bigObject(20));
      long one = probe.keptBytes();
      SessionTable t = table(new SessionBudget(1L << 20, 1L << 20, 1L << 30, 3 * one + one / 2));

      for (int i = 0; i < 10; i++) {
        run(t, "s" + i, "c" + i, bigObject(20));
      }

      assertThat(t.keptBytes()).isLessThanOrEqualTo(3 * one + one / 2);
      assertThat(t.list(s -> true, 100)).extracting(Session::id).containsExactly("s9", "s8", "s7");
    }

    @Test
    void aSessionThatCannotFitIsRefusedAndChangesNothing() throws Exception {
      SessionTable t = table(new SessionBudget(1L << 20, 1L << 20, 3000, 1L << 30));
      t.reserve("r1", "c1", "d", "task", "x".repeat(1000));
      long kept = t.keptBytes();

      SessionBudgetException e =
          catchThrowableOfType(
              SessionBudgetException.class,
              () -> t.reserve("r2", "c1", "d", "task", "x".repeat(2000)));

      assertThat(e.limit()).isEqualTo(SessionBudget.BYTES_PER_OWNER_KEY);
      assertThat(e.getMessage()).contains("session_bytes_per_owner").contains("3000");
      assertThat(t.keptBytes()).isEqualTo(kept);
      assertThat(t.counts().running()).isEqualTo(1);
      assertThat(t.running("r2")).isEmpty();
      assertThat(t.reserve("r3", "c2", "d", "task", "x".repeat(2000)))
          .as("another owner")
          .isNotNull();
    }

    @Test
    void theHubsOwnSessionsHaveTheirOwnAccount() throws Exception {
      SessionTable t = table(new SessionBudget(1L << 20, 1L << 20, 3000, 1L << 30));
      t.reserveDispatch("h1", "d", "n1", "x".repeat(1500));

      SessionBudgetException e =
          catchThrowableOfType(
              SessionBudgetException.class,
              () -> t.reserveDispatch("h2", "d", "n2", "x".repeat(1500)));

      assertThat(e.limit()).isEqualTo(SessionBudget.BYTES_PER_OWNER_KEY);
      assertThat(e.getMessage()).contains("dispatched over HTTP");
      assertThat(t.latestDispatched("n2")).isEmpty();
      assertThat(t.reserve("c", "c1", "d", "task", "x".repeat(1500))).isNotNull();
    }

    @Test
    void theHubsBytesRefuseWhenRunningSessionsFillThem() throws Exception {
      SessionTable t = table(new SessionBudget(1L << 20, 1L << 20, 1L << 30, 5000));
      t.reserve("a", "c1", "d", "task", "x".repeat(1500));
      t.reserve("b", "c2", "d", "task", "x".repeat(1500));

      SessionBudgetException e =
          catchThrowableOfType(
              SessionBudgetException.class,
              () -> t.reserve("c", "c3", "d", "task", "x".repeat(1500)));

      assertThat(e.limit()).isEqualTo(SessionBudget.BYTES_KEY);
    }

    @Test
    void everyByteChargedIsCreditedBack() throws Exception {
      SessionTable t = new SessionTable(3, Duration.ofMinutes(10), clock);
      Reservation aborted = t.reserve("x", "c1", "d", "task", "r");
      t.abort(aborted);
      for (int i = 0; i < 10; i++) {
        run(t, "s" + i, "c" + (i % 3), bigObject(5));
      }
      Session held = run(t, "h", "c1", "r");
      t.hold(held);
      assertThat(t.keptBytes()).isPositive();

      clock.advance(Duration.ofMinutes(11));
      t.evictExpired();

      assertThat(t.keptBytes()).isZero();
      assertThat(t.keptBytes("c1")).isZero();
      assertThat(t.heldSizes()).isEqualTo(HeldOutcomes.Sizes.NONE);
    }
  }

  @Nested
  class Held {
    @Test
    void anOutcomeOverItsOwnersLimitIsDroppedReportedAndFreesItsId() throws Exception {
      SessionTable t =
          table(
              SessionBudget.UNLIMITED,
              new HeldOutcomes.Limits(1, 1L << 30, 1L << 30, Duration.ofHours(1)));
      Session first = run(t, "s1", "c1", "one");
      Session second = run(t, "s2", "c1", "two");

      assertThat(t.hold(first)).isTrue();
      assertThat(t.hold(second)).isFalse();

      assertThat(drops).containsExactly("s2:owner_limit");
      assertThat(t.reserve("s2", "c2", "d", "task", "r")).as("s2 is not held").isNotNull();
      assertThat(t.takeHeld("c1")).extracting(Session::result).containsExactly("one");
    }

    @Test
    void pastTheHubsHeldBytesNewOutcomesAreDroppedNotOldOnes() throws Exception {
      SessionTable probe = table(SessionBudget.UNLIMITED);
      Session p = run(probe, "p", "c", bigObject(10));
      probe.hold(p);
      long one = probe.heldSizes().bytes();
      SessionTable t =
          table(
              SessionBudget.UNLIMITED,
              new HeldOutcomes.Limits(100, 1L << 30, 2 * one + one / 2, Duration.ofHours(1)));

      assertThat(t.hold(run(t, "a", "c1", bigObject(10)))).isTrue();
      assertThat(t.hold(run(t, "b", "c2", bigObject(10)))).isTrue();
      assertThat(t.hold(run(t, "c", "c3", bigObject(10)))).isFalse();

      assertThat(drops).containsExactly("c:hub_limit");
      assertThat(t.takeHeld("c1")).hasSize(1);
      assertThat(t.takeHeld("c2")).hasSize(1);
    }

    @Test
    void aHeldOutcomeOutlivesAHistoryFloodAndIsDroppedOnlyByAge() throws Exception {
      SessionTable t =
          new SessionTable(
              10,
              Duration.ofMinutes(5),
              SessionBudget.UNLIMITED,
              new InMemoryHeldOutcomes(
                  new HeldOutcomes.Limits(10, 1L << 20, 1L << 30, Duration.ofMinutes(30)), clock),
              clock);
      t.onHeldDropped((s, why) -> drops.add(s.id() + ":" + why.label()));
      Session mine = run(t, "mine", "victim", "result");
      t.hold(mine);

      for (int i = 0; i < 2000; i++) {
        run(t, "flood-" + i, "attacker", "x");
      }
      clock.advance(Duration.ofMinutes(10)); // past the history's age, not the held age
      t.evictExpired();

      assertThat(t.historySize()).isZero();
      assertThat(t.counts().held()).isEqualTo(1);
      assertThat(drops).isEmpty();
      clock.advance(Duration.ofMinutes(21));
      t.evictExpired();
      assertThat(drops).containsExactly("mine:age");
      assertThat(t.counts().held()).isZero();
    }
  }
}
