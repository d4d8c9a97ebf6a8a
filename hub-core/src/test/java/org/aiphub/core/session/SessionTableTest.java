package org.aiphub.core.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class SessionTableTest {
  private static final Instant T0 = Instant.parse("2026-11-25T14:30:00Z");

  private final ManualClock clock = new ManualClock(T0);
  private SessionTable table = new SessionTable(100, Duration.ofHours(1), clock);

  private Session reserve(String id, String owner)
      throws SessionConflictException, SessionBudgetException {
    return table.reserve(id, owner, "dev-1", "task-" + id, "do " + id).session();
  }

  private Session finish(Session s, SessionState outcome) {
    return table.finish(s, outcome, null, null).orElseThrow();
  }

  private Session runAndFinish(String id, String owner)
      throws SessionConflictException, SessionBudgetException {
    return finish(reserve(id, owner), SessionState.COMPLETED);
  }

  private SessionConflictException.Reason conflict(String id, String owner) {
    SessionConflictException e =
        catchThrowableOfType(
            SessionConflictException.class, () -> table.reserve(id, owner, "dev-2", "t", "r"));
    assertThat(e).as("reserve(%s, %s) must be refused", id, owner).isNotNull();
    return e.reason();
  }

  @Test
  void constructorRefusesBadLimits() {
    Clock c = Clock.systemUTC();
    assertThatThrownBy(() -> new SessionTable(0, Duration.ofMinutes(1), c))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SessionTable(1, Duration.ZERO, c))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SessionTable(1, Duration.ofSeconds(-1), c))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SessionTable(1, Duration.ofSeconds(1), null))
        .isInstanceOf(NullPointerException.class);
  }

  @Nested
  class Reserve {
    @Test
    void entersARunningSessionWithEveryField() throws Exception {
      Reservation r = table.reserve("s1", "c1", "dev-1", "open-excel", "Open Excel");

      Session s = r.session();
      assertThat(s.id()).isEqualTo("s1");
      assertThat(s.ownerId()).isEqualTo("c1");
      assertThat(s.executorId()).isEqualTo("dev-1");
      assertThat(s.taskName()).isEqualTo("open-excel");
      assertThat(s.request()).isEqualTo("Open Excel");
      assertThat(s.state()).isEqualTo(SessionState.RUNNING);
      assertThat(s.isRunning()).isTrue();
      assertThat(s.createdAt()).isEqualTo(T0);
      assertThat(s.endedAt()).isNull();
      assertThat(s.held()).isFalse();
      assertThat(table.get("s1")).containsSame(s);
      assertThat(table.get(s.key())).containsSame(s);
      assertThat(table.running("s1")).containsSame(s);
      assertThat(table.counts()).isEqualTo(new SessionCounts(1, 0, 0, 0, 0));
      assertThat(table.historySize()).isZero();
    }

    @Test
    void everyRunGetsItsOwnNumber() throws Exception {
      Session a = reserve("a", "c1");
      Session b = reserve("b", "c1");
      finish(a, SessionState.COMPLETED);
      Session a2 = reserve("a", "c1");

      assertThat(List.of(a.run(), b.run(), a2.run())).doesNotHaveDuplicates();
      assertThat(a2.run()).isGreaterThan(a.run());
      assertThat(a2.key()).isNotEqualTo(a.key());
    }

    @Test
    void sameOwnerCannotReuseARunningId() throws Exception {
      Session s = reserve("s1", "c1");

      SessionConflictException e =
          catchThrowableOfType(
              SessionConflictException.class,
              () -> table.reserve("s1", "c1", "dev-2", "other", "other"));

      assertThat(e.reason()).isEqualTo(SessionConflictException.Reason.ALREADY_RUNNING);
      assertThat(e.getMessage()).contains("'s1'").contains("already running");
      assertThat(table.get("s1")).containsSame(s);
      assertThat(table.runs("s1", 10)).containsExactly(s);
      assertThat(table.counts().running()).isEqualTo(1);
    }

    @Test
    void anotherOwnerCannotUseARunningId() throws Exception {
      Session s = reserve("s1", "c1");

      SessionConflictException e =
          catchThrowableOfType(
              SessionConflictException.class,
              () -> table.reserve("s1", "c2", "dev-2", "other", "other"));

      assertThat(e.reason()).isEqualTo(SessionConflictException.Reason.RUNNING_FOR_ANOTHER);
      assertThat(e.getMessage())
          .contains("'s1'")
          .contains("already used by another client")
          .contains("still running")
          .doesNotContain("c1");
      assertThat(table.get("s1")).containsSame(s);
      assertThat(table.runs("s1", 10)).containsExactly(s);
      assertThat(table.counts().running()).isEqualTo(1);
    }

    @Test
    void anotherOwnerMayReuseAFinishedIdAndBothRunsStayInTheHistory() throws Exception {
      Session first =
          table
              .finish(
                  table.reserve("t1", "tn@devA", "devA", "galaxy/tn/t1", "on A").session(),
                  SessionState.COMPLETED,
                  Map.of("answer", "from A"),
                  null)
              .orElseThrow();
      clock.advance(Duration.ofSeconds(5));

      Session second = table.reserve("t1", "tn@devB", "devB", "galaxy/tn/t1", "on B").session();

      assertThat(second.ownerId()).isEqualTo("tn@devB");
      assertThat(second.executorId()).isEqualTo("devB");
      assertThat(second.request()).isEqualTo("on B");
      assertThat(second.result()).isNull();
      assertThat(second.error()).isNull();
      assertThat(second.createdAt()).isEqualTo(T0.plusSeconds(5));
      assertThat(table.get("t1")).as("the newest run").containsSame(second);
      assertThat(table.running("t1")).containsSame(second);
      assertThat(table.runs("t1", 10)).containsExactly(second, first);
      assertThat(table.get(first.key())).containsSame(first);
      assertThat(table.get(first.key()).orElseThrow().result())
          .isEqualTo(Map.of("answer", "from A"));
      assertThat(table.counts()).isEqualTo(new SessionCounts(1, 1, 0, 0, 0));
      assertThat(table.historySize()).isEqualTo(1);

      Session secondDone =
          table.finish(second, SessionState.FAILED, null, "no such app").orElseThrow();
      assertThat(table.runs("t1", 10)).containsExactly(secondDone, first);
      assertThat(table.runs("t1", 1)).containsExactly(secondDone);
      assertThat(table.get("t1")).containsSame(secondDone);
      assertThat(table.historySize()).isEqualTo(2);
    }

    @Test
    void sameOwnerMayReuseAFinishedId() throws Exception {
      Session done = runAndFinish("s1", "c1");
      clock.advance(Duration.ofSeconds(5));

      Reservation again = table.reserve("s1", "c1", "dev-2", "second", "again");

      assertThat(again.session().isRunning()).isTrue();
      assertThat(again.session().executorId()).isEqualTo("dev-2");
      assertThat(again.session().createdAt()).isEqualTo(T0.plusSeconds(5));
      assertThat(table.get("s1")).containsSame(again.session());
      assertThat(table.runs("s1", 10)).containsExactly(again.session(), done);
      assertThat(table.counts()).isEqualTo(new SessionCounts(1, 1, 0, 0, 0));
      // the finished run stays in the history until it is evicted
      assertThat(table.historySize()).isEqualTo(1);
    }

    @Test
    void anIdIsFreeForAnyoneOnceItsRunLeftTheHistory() throws Exception {
      table = new SessionTable(1, Duration.ofHours(1), clock);
      runAndFinish("s1", "c1");
      runAndFinish("s2", "c1"); // pushes s1 out

      assertThat(table.get("s1")).isEmpty();
      Reservation r = table.reserve("s1", "c2", "dev-1", null, null);
      assertThat(r.session().ownerId()).isEqualTo("c2");
      assertThat(table.runs("s1", 10)).containsExactly(r.session());
    }

    @Test
    void hubOwnedSessionsHaveNoOwnerAndFollowTheSameRules() throws Exception {
      Session hub = reserve("h1", null);
      assertThat(hub.ownerId()).isNull();

      assertThat(conflict("h1", null)).isEqualTo(SessionConflictException.Reason.ALREADY_RUNNING);
      assertThat(conflict("h1", "c1"))
          .isEqualTo(SessionConflictException.Reason.RUNNING_FOR_ANOTHER);

      finish(hub, SessionState.COMPLETED);
      Reservation byConstellation = table.reserve("h1", "c1", "dev-1", null, null);
      finish(byConstellation.session(), SessionState.COMPLETED);
      assertThat(table.reserve("h1", null, "dev-1", null, null).session().ownerId()).isNull();

      // and a constellation's running id is not free for the hub either
      reserve("c-owned", "c1");
      assertThat(conflict("c-owned", null))
          .isEqualTo(SessionConflictException.Reason.RUNNING_FOR_ANOTHER);
    }

    @Test
    void aLongIdIsShortenedInTheRefusal() throws Exception {
      String longId = "x".repeat(300);
      reserve(longId, "c1");

      SessionConflictException e =
          catchThrowableOfType(
              SessionConflictException.class, () -> table.reserve(longId, "c1", "d", null, null));

      assertThat(e.getMessage()).contains("'" + "x".repeat(128) + "...'");
      assertThat(e.getMessage()).doesNotContain("x".repeat(129));
    }

    @Test
    void aNullIdIsRefused() {
      assertThatThrownBy(() -> table.reserve(null, "c1", "dev-1", null, null))
          .isInstanceOf(NullPointerException.class);
      assertThat(table.counts().running()).isZero();
    }

    @Test
    void idsThatSortNextToEachOtherKeepTheirRunsApart() throws Exception {
      // An id that is a prefix of another must not see the other's runs as its own.
      Session a = runAndFinish("a", "c1");
      Session ab = runAndFinish("a@b", "c2");
      Session a0 = runAndFinish("a\u0000", "c3");

      assertThat(table.runs("a", 10)).containsExactly(a);
      assertThat(table.runs("a@b", 10)).containsExactly(ab);
      assertThat(table.get("a")).containsSame(a);
      assertThat(table.get("a\u0000")).containsSame(a0);
      assertThat(table.runs("missing", 10)).isEmpty();
      assertThat(table.runs(null, 10)).isEmpty();
      assertThat(table.get("")).isEmpty();
    }
  }

  @Nested
  class HeldOutcomesAndReuse {
    @Test
    void aHeldOutcomeBlocksEveryoneUntilItIsHandedOutThenTheIdIsFree() throws Exception {
      Session done = runAndFinish("s1", "c1");
      assertThat(table.hold(done)).isTrue();
      Session heldRecord = table.get("s1").orElseThrow();
      assertThat(heldRecord.held()).isTrue();

      assertThat(conflict("s1", "c1"))
          .isEqualTo(SessionConflictException.Reason.OUTCOME_UNDELIVERED);
      assertThat(conflict("s1", "c2")).isEqualTo(SessionConflictException.Reason.HELD_FOR_ANOTHER);
      assertThat(conflict("s1", null)).isEqualTo(SessionConflictException.Reason.HELD_FOR_ANOTHER);
      assertThat(table.get("s1")).containsSame(heldRecord);
      assertThat(table.runs("s1", 10)).containsExactly(heldRecord);
      assertThat(table.counts().held()).isEqualTo(1);

      assertThat(table.takeHeld("c1")).extracting(Session::run).containsExactly(done.run());
      assertThat(table.counts().held()).isZero();
      // delivered: free for its owner and for anyone else
      Session byOther = table.reserve("s1", "c2", "dev-1", null, null).session();
      assertThat(byOther.run()).isNotEqualTo(done.run());
      finish(byOther, SessionState.COMPLETED);
      assertThat(table.reserve("s1", "c1", "dev-1", null, null).session().ownerId())
          .isEqualTo("c1");
    }

    @Test
    void theRefusalForAnotherOwnersHeldOutcomeNamesNoOwnerAndChangesNothing() throws Exception {
      Session done = runAndFinish("s1", "secret-owner");
      table.hold(done);

      SessionConflictException e =
          catchThrowableOfType(
              SessionConflictException.class, () -> table.reserve("s1", "c2", "d", null, null));

      assertThat(e.getMessage())
          .contains("'s1'")
          .contains("already used by another client")
          .doesNotContain("secret-owner");
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 1, 0, 0, 1));
      assertThat(table.takeHeld("secret-owner")).extracting(Session::id).containsExactly("s1");
    }

    @Test
    void anOutcomeCannotBeHeldOnceAnotherOwnerReusedItsId() throws Exception {
      // The first owner's delivery fails only after someone else started a run of the same id:
      // holding the old outcome now would replay it to whoever waits on that id later.
      Session first = runAndFinish("s1", "c1");
      Session second = reserve("s1", "c2");

      assertThat(table.hold(first)).isFalse();
      assertThat(table.counts().held()).isZero();
      assertThat(table.takeHeld("c1")).isEmpty();
      assertThat(table.running("s1")).containsSame(second);
    }

    @Test
    void aHeldOutcomeAndTheNextRunNeverMix() throws Exception {
      Session first =
          table
              .finish(
                  table.reserve("s1", "c1", "dev-1", "t", "first request").session(),
                  SessionState.COMPLETED,
                  "first result",
                  null)
              .orElseThrow();
      table.hold(first);
      Session handedOut = table.takeHeld("c1").get(0);
      Session second = table.reserve("s1", "c2", "dev-2", "t", "second request").session();

      assertThat(handedOut.result()).isEqualTo("first result");
      assertThat(second.request()).isEqualTo("second request");
      assertThat(second.result()).isNull();
      assertThat(table.get("s1")).containsSame(second);
      assertThat(table.latestDispatched("t")).as("not dispatched over HTTP").isEmpty();
      assertThat(table.takeHeld("c2")).isEmpty();
      assertThat(table.hold(handedOut)).as("the id moved on").isFalse();
    }
  }

  @Nested
  class Abort {
    @Test
    void removesAFreshReservation() throws Exception {
      Reservation r = table.reserve("s1", "c1", "dev-1", null, null);

      assertThat(table.abort(r)).isTrue();

      assertThat(table.get("s1")).isEmpty();
      assertThat(table.get(r.session().key())).isEmpty();
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 0, 0, 0, 0));
      assertThat(table.abort(r)).as("a second abort undoes nothing").isFalse();
      assertThat(table.counts().running()).isZero();
      // the id is free for anyone again
      assertThat(table.reserve("s1", "c2", "dev-1", null, null).session().ownerId())
          .isEqualTo("c2");
    }

    @Test
    void leavesThePreviousRunsOfAReusedIdAsTheyWere() throws Exception {
      Session done = runAndFinish("s1", "c1");
      Reservation r = table.reserve("s1", "c2", "dev-1", null, null);

      assertThat(table.abort(r)).isTrue();

      assertThat(table.get("s1")).containsSame(done);
      assertThat(table.runs("s1", 10)).containsExactly(done);
      assertThat(table.running("s1")).isEmpty();
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 1, 0, 0, 0));
      assertThat(table.historySize()).isEqualTo(1);
      assertThat(table.reserve("s1", "c1", "dev-1", null, null).session().isRunning()).isTrue();
    }

    @Test
    void doesNothingOnceTheSessionFinished() throws Exception {
      Reservation r = table.reserve("s1", "c1", "dev-1", null, null);
      Session done = finish(r.session(), SessionState.FAILED);

      assertThat(table.abort(r)).isFalse();

      assertThat(table.get("s1")).containsSame(done);
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 0, 1, 0, 0));
    }

    @Test
    void neverUndoesALaterReservationOfTheSameId() throws Exception {
      Reservation first = table.reserve("s1", "c1", "dev-1", null, null);
      table.abort(first);
      Reservation second = table.reserve("s1", "c1", "dev-1", null, null);

      assertThat(table.abort(first)).isFalse();

      assertThat(table.running("s1")).containsSame(second.session());
      assertThat(table.counts().running()).isEqualTo(1);
    }
  }

  @Nested
  class Finish {
    @Test
    void movesARunningSessionToItsFinalState() throws Exception {
      Session s = reserve("s1", "c1");
      clock.advance(Duration.ofSeconds(3));
      Map<String, Object> result = new HashMap<>(Map.of("ok", true));

      Session done = table.finish(s, SessionState.COMPLETED, result, "note").orElseThrow();
      result.put("ok", false);

      assertThat(done.state()).isEqualTo(SessionState.COMPLETED);
      assertThat(done.run()).isEqualTo(s.run());
      assertThat(done.endedAt()).isEqualTo(T0.plusSeconds(3));
      assertThat(done.duration(T0.plusSeconds(100))).isEqualTo(Duration.ofSeconds(3));
      assertThat(done.result()).isEqualTo(Map.of("ok", true));
      assertThat(done.error()).isEqualTo("note");
      assertThat(done.held()).isFalse();
      assertThat(table.get("s1")).containsSame(done);
      assertThat(table.running("s1")).isEmpty();
      assertThat(table.historySize()).isEqualTo(1);
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 1, 0, 0, 0));
    }

    @Test
    void refusesRunningAsAnOutcome() throws Exception {
      Session s = reserve("s1", "c1");

      assertThatThrownBy(() -> table.finish(s, SessionState.RUNNING, null, null))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(table.running("s1")).containsSame(s);
    }

    @Test
    void theFirstTransitionWins() throws Exception {
      Session s = reserve("s1", "c1");
      Session done = table.finish(s, SessionState.COMPLETED, "r", null).orElseThrow();

      assertThat(table.finish(s, SessionState.FAILED, null, "late")).isEmpty();
      assertThat(table.finish(s, SessionState.CANCELLED, null, "late")).isEmpty();
      assertThat(table.finish(done, SessionState.FAILED, null, "late")).isEmpty();

      assertThat(table.get("s1")).containsSame(done);
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 1, 0, 0, 0));
      assertThat(table.historySize()).isEqualTo(1);
    }

    @Test
    void aStaleRecordCannotFinishANewerRunOfTheSameId() throws Exception {
      Session first = reserve("s1", "c1");
      finish(first, SessionState.COMPLETED);
      Session second = reserve("s1", "c1");

      assertThat(table.finish(first, SessionState.FAILED, null, "stale")).isEmpty();

      assertThat(table.running("s1")).containsSame(second);
      assertThat(table.counts()).isEqualTo(new SessionCounts(1, 1, 0, 0, 0));
    }

    @Test
    void anUnknownSessionCannotBeFinished() {
      Session ghost =
          new Session(
              "ghost",
              99,
              "c1",
              "d",
              null,
              null,
              SessionState.RUNNING,
              T0,
              null,
              null,
              null,
              false);

      assertThat(table.finish(ghost, SessionState.COMPLETED, null, null)).isEmpty();
      assertThat(table.get("ghost")).isEmpty();
      assertThat(table.counts()).isEqualTo(new SessionCounts(0, 0, 0, 0, 0));
    }

    @Test
    void countsEveryOutcome() throws Exception {
      List<Session> s = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        s.add(reserve("s" + i, "c1"));
      }
      finish(s.get(0), SessionState.COMPLETED);
      finish(s.get(1), SessionState.COMPLETED);
      finish(s.get(2), SessionState.FAILED);
      Session cancelled = finish(s.get(3), SessionState.CANCELLED);
      table.hold(cancelled);

      assertThat(table.counts()).isEqualTo(new SessionCounts(2, 2, 1, 1, 1));
      assertThat(table.historySize()).isEqualTo(4);
    }

    @Test
    void concurrentFinishesHaveExactlyOneWinner() throws Exception {
      int sessions = 200;
      int threads = 4;
      SessionState[] outcomes = {
        SessionState.COMPLETED, SessionState.FAILED, SessionState.CANCELLED, SessionState.FAILED
      };
      table = new SessionTable(10_000, Duration.ofHours(1), clock);
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        for (int i = 0; i < sessions; i++) {
          Session s = reserve("s" + i, "c1");
          CountDownLatch start = new CountDownLatch(1);
          List<Future<Optional<Session>>> results = new ArrayList<>();
          for (int t = 0; t < threads; t++) {
            SessionState outcome = outcomes[t];
            Callable<Optional<Session>> call =
                () -> {
                  start.await();
                  return table.finish(s, outcome, null, outcome.wire());
                };
            results.add(pool.submit(call));
          }
          start.countDown();
          List<Session> winners = new ArrayList<>();
          for (Future<Optional<Session>> f : results) {
            f.get(30, TimeUnit.SECONDS).ifPresent(winners::add);
          }
          assertThat(winners).as("winners for s%d", i).hasSize(1);
          assertThat(table.get("s" + i)).containsSame(winners.get(0));
        }
      } finally {
        pool.shutdownNow();
      }
      SessionCounts c = table.counts();
      assertThat(c.running()).isZero();
      assertThat(c.completed() + c.failed() + c.cancelled()).isEqualTo(sessions);
      assertThat(table.historySize()).isEqualTo(sessions);
    }
  }

  @Nested
  class Eviction {
    @Test
    void keepsAtMostMaxHistoryFinishedSessionsDroppingTheOldest() throws Exception {
      table = new SessionTable(3, Duration.ofHours(1), clock);
      for (int i = 1; i <= 5; i++) {
        clock.advance(Duration.ofSeconds(1));
        runAndFinish("s" + i, "c1");
      }

      assertThat(table.historySize()).isEqualTo(3);
      assertThat(table.get("s1")).isEmpty();
      assertThat(table.get("s2")).isEmpty();
      assertThat(table.get("s3")).isPresent();
      assertThat(table.get("s4")).isPresent();
      assertThat(table.get("s5")).isPresent();
      assertThat(table.evictExpired()).isZero();
    }

    @Test
    void runningSessionsAreNeverEvicted() throws Exception {
      table = new SessionTable(1, Duration.ofMinutes(1), clock);
      Session running = reserve("r", "c1");
      runAndFinish("a", "c1");
      runAndFinish("b", "c1");
      clock.advance(Duration.ofHours(5));
      table.evictExpired();

      assertThat(table.running("r")).containsSame(running);
      assertThat(table.counts().running()).isEqualTo(1);
    }

    @Test
    void dropsFinishedSessionsOlderThanMaxAge() throws Exception {
      table = new SessionTable(100, Duration.ofMinutes(10), clock);
      runAndFinish("old", "c1");
      clock.advance(Duration.ofMinutes(5));
      runAndFinish("young", "c1");

      clock.advance(Duration.ofMinutes(5));
      assertThat(table.evictExpired()).as("exactly max age old is kept").isZero();
      assertThat(table.get("old")).isPresent();

      clock.advance(Duration.ofNanos(1));
      assertThat(table.evictExpired()).isEqualTo(1);
      assertThat(table.get("old")).isEmpty();
      assertThat(table.get("young")).isPresent();
      assertThat(table.historySize()).isEqualTo(1);

      clock.advance(Duration.ofMinutes(5));
      assertThat(table.evictExpired()).isEqualTo(1);
      assertThat(table.historySize()).isZero();
      assertThat(table.get("young")).isEmpty();
    }

    @Test
    void aFinishAlsoEvictsWhatAged() throws Exception {
      table = new SessionTable(100, Duration.ofMinutes(10), clock);
      runAndFinish("old", "c1");
      clock.advance(Duration.ofMinutes(11));

      runAndFinish("new", "c1");

      assertThat(table.get("old")).isEmpty();
      assertThat(table.historySize()).isEqualTo(1);
    }

    @Test
    void neverRemovesANewerRunningRunOfAReusedId() throws Exception {
      table = new SessionTable(1, Duration.ofMinutes(10), clock);
      Session first = runAndFinish("x", "c1");
      Session second = reserve("x", "c1");

      runAndFinish("y", "c1"); // the history is over its size: the first run of x goes

      assertThat(table.running("x")).containsSame(second);
      assertThat(table.get("y")).isPresent();
      assertThat(table.historySize()).isEqualTo(1);
      assertThat(table.counts().running()).isEqualTo(1);

      clock.advance(Duration.ofHours(1));
      table.evictExpired(); // y ages out; x is still running
      assertThat(table.running("x")).containsSame(second);
      assertThat(first.run()).isNotEqualTo(second.run());
    }

    @Test
    void neverRemovesANewerFinishedRunOfAReusedId() throws Exception {
      table = new SessionTable(10, Duration.ofMinutes(10), clock);
      runAndFinish("x", "c1");
      clock.advance(Duration.ofMinutes(6));
      Session second = runAndFinish("x", "c1");
      assertThat(table.historySize()).isEqualTo(2);

      clock.advance(Duration.ofMinutes(6)); // the first run is 12 minutes old, the second 6

      assertThat(table.evictExpired()).isEqualTo(1);
      assertThat(table.get("x")).containsSame(second);
      assertThat(table.historySize()).isEqualTo(1);
    }
  }

  @Nested
  class Held {
    @Test
    void holdMarksAFinishedSessionOnce() throws Exception {
      Session done = runAndFinish("s1", "c1");

      assertThat(table.hold(done)).isTrue();
      assertThat(table.hold(done)).isFalse();

      assertThat(table.get("s1").orElseThrow().held()).isTrue();
      assertThat(table.counts().held()).isEqualTo(1);
    }

    @Test
    void holdRefusesRunningOwnerlessAndUnknownSessions() throws Exception {
      Session running = reserve("r", "c1");
      Session hubOwned = runAndFinish("h", null);
      Session ghost =
          new Session(
              "ghost",
              1234,
              "c1",
              "d",
              null,
              null,
              SessionState.COMPLETED,
              T0,
              T0,
              null,
              null,
              false);

      assertThat(table.hold(running)).isFalse();
      assertThat(table.hold(hubOwned)).isFalse();
      assertThat(table.hold(ghost)).isFalse();
      assertThat(table.counts().held()).isZero();
      assertThat(table.takeHeld("c1")).isEmpty();
    }

    @Test
    void holdRefusesAnOlderRunOfAReusedId() throws Exception {
      Session first = runAndFinish("s1", "c1");
      runAndFinish("s1", "c1");
      Session third = runAndFinish("s1", "c2");

      assertThat(table.hold(first)).isFalse();
      assertThat(table.counts().held()).isZero();
      assertThat(table.hold(third)).as("the newest run may be held").isTrue();
    }

    @Test
    void takeHeldNeverHandsOutAnOutcomeOlderThanTheHistoryAge() throws Exception {
      Session old = finish(reserve("old", "c1"), SessionState.COMPLETED);
      table.hold(old);
      clock.advance(Duration.ofMinutes(59));
      Session fresh = finish(reserve("fresh", "c1"), SessionState.COMPLETED);
      table.hold(fresh);
      clock.advance(Duration.ofMinutes(1).plusMillis(1));

      // No sweep ran in between: the hand-out itself drops what aged out.
      assertThat(table.takeHeld("c1")).extracting(Session::id).containsExactly("fresh");
      assertThat(table.counts().held()).isZero();
      assertThat(table.get("old").orElseThrow().held()).as("no longer held").isFalse();
      table.evictExpired();
      assertThat(table.get("old")).as("its record ages out with the history").isEmpty();
    }

    @Test
    void takeHeldHandsEachOutcomeOutOnceOldestFirst() throws Exception {
      Session a = reserve("a", "c1");
      Session b = reserve("b", "c1");
      Session c = reserve("c", "c1");
      Session other = reserve("o", "c2");
      clock.advance(Duration.ofSeconds(1));
      Session doneB = finish(b, SessionState.FAILED);
      clock.advance(Duration.ofSeconds(1));
      Session doneC = finish(c, SessionState.CANCELLED);
      clock.advance(Duration.ofSeconds(1));
      Session doneA = finish(a, SessionState.COMPLETED);
      Session doneOther = finish(other, SessionState.COMPLETED);
      // held in another order than they ended
      table.hold(doneA);
      table.hold(doneC);
      table.hold(doneB);
      table.hold(doneOther);
      assertThat(table.counts().held()).isEqualTo(4);

      List<Session> taken = table.takeHeld("c1");

      assertThat(taken).extracting(Session::id).containsExactly("b", "c", "a");
      assertThat(taken)
          .extracting(Session::state)
          .containsExactly(SessionState.FAILED, SessionState.CANCELLED, SessionState.COMPLETED);
      assertThat(taken).noneMatch(Session::held);
      assertThat(table.get("a").orElseThrow().held()).isFalse();
      assertThat(table.counts().held()).isEqualTo(1);
      assertThat(table.takeHeld("c1")).as("handed out once").isEmpty();
      assertThat(table.takeHeld("c2")).extracting(Session::id).containsExactly("o");
      assertThat(table.counts().held()).isZero();
      assertThat(table.takeHeld(null)).isEmpty();
    }

    @Test
    void anOutcomeCanBeHeldAgainAfterAFailedDelivery() throws Exception {
      Session done = runAndFinish("s1", "c1");
      table.hold(done);
      Session taken = table.takeHeld("c1").get(0);

      assertThat(table.hold(taken)).isTrue();

      assertThat(table.counts().held()).isEqualTo(1);
      assertThat(table.takeHeld("c1")).extracting(Session::id).containsExactly("s1");
      assertThat(table.counts().held()).isZero();
    }

    @Test
    void heldOutcomesOutliveTheHistory() throws Exception {
      table = new SessionTable(2, Duration.ofHours(1), clock);
      Session a = runAndFinish("a", "c1");
      Session b = runAndFinish("b", "c1");
      table.hold(a);
      table.hold(b);

      for (int i = 0; i < 10; i++) {
        runAndFinish("other-" + i, "c2"); // another client's traffic evicts a and b's records
      }

      assertThat(table.runs("a", 10)).isEmpty();
      assertThat(table.get("a"))
          .as("a held run is still found")
          .hasValueSatisfying(s -> assertThat(s.held()).isTrue());
      assertThat(conflict("a", "c2")).isEqualTo(SessionConflictException.Reason.HELD_FOR_ANOTHER);
      assertThat(table.counts().held()).isEqualTo(2);
      assertThat(table.takeHeld("c1")).extracting(Session::id).containsExactly("a", "b");
      assertThat(table.counts().held()).isZero();
      assertThat(table.get("a")).isEmpty();
      assertThat(table.reserve("a", "c2", "dev-1", null, null).session().ownerId()).isEqualTo("c2");
    }

    @Test
    void heldOutcomesLeaveByTheirAge() throws Exception {
      table = new SessionTable(100, Duration.ofMinutes(10), clock);
      List<String> dropped = new ArrayList<>();
      table.onHeldDropped((s, why) -> dropped.add(s.id() + ":" + why.label()));
      Session a = runAndFinish("a", "c1");
      table.hold(a);

      clock.advance(Duration.ofMinutes(11));
      assertThat(table.evictExpired()).as("the record and the held outcome").isEqualTo(2);

      assertThat(dropped).containsExactly("a:age");
      assertThat(table.counts().held()).isZero();
      assertThat(table.takeHeld("c1")).isEmpty();
      assertThat(table.hold(a)).as("gone for good").isFalse();
      assertThat(table.reserve("a", "c2", "dev-1", null, null)).isNotNull();
    }
  }

  @Nested
  class HeldConcurrency {
    @Test
    void concurrentHoldsAndTakesHandEveryOutcomeOutExactlyOnce() throws Exception {
      int perHolder = 10_000;
      int holders = 2;
      table = new SessionTable(holders * perHolder, Duration.ofHours(1), clock);
      List<List<Session>> slices = new ArrayList<>();
      for (int h = 0; h < holders; h++) {
        List<Session> slice = new ArrayList<>();
        for (int i = 0; i < perHolder; i++) {
          slice.add(runAndFinish("s" + h + "-" + i, "c1"));
        }
        slices.add(slice);
      }
      ExecutorService pool = Executors.newFixedThreadPool(holders + 1);
      try {
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger holding = new AtomicInteger(holders);
        List<Future<Integer>> held = new ArrayList<>();
        for (List<Session> slice : slices) {
          Callable<Integer> holder =
              () -> {
                start.await();
                int n = 0;
                for (Session s : slice) {
                  n += table.hold(s) ? 1 : 0;
                }
                holding.decrementAndGet();
                return n;
              };
          held.add(pool.submit(holder));
        }
        Callable<List<Session>> taker =
            () -> {
              start.await();
              List<Session> out = new ArrayList<>();
              while (holding.get() > 0) {
                out.addAll(table.takeHeld("c1"));
              }
              return out;
            };
        Future<List<Session>> taking = pool.submit(taker);
        start.countDown();
        int marked = 0;
        for (Future<Integer> f : held) {
          marked += f.get(60, TimeUnit.SECONDS);
        }
        List<Session> taken = new ArrayList<>(taking.get(60, TimeUnit.SECONDS));
        taken.addAll(table.takeHeld("c1"));

        assertThat(marked).isEqualTo(holders * perHolder);
        assertThat(taken).extracting(Session::id).doesNotHaveDuplicates();
        assertThat(taken).as("every held outcome is handed out").hasSize(holders * perHolder);
        assertThat(table.counts().held()).isZero();
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Nested
  class Queries {
    @Test
    void latestDispatchedIsTheNewestHttpDispatchOfThatName() throws Exception {
      table.reserveDispatch("s1", "d", "report", null);
      clock.advance(Duration.ofSeconds(1));
      Session s2 = table.reserveDispatch("s2", "d", "report", null).session();
      clock.advance(Duration.ofSeconds(1));
      table.reserveDispatch("s3", "d", "other", null);

      assertThat(table.latestDispatched("report")).containsSame(s2);
      assertThat(s2.ownerId()).isNull();

      Session done2 = finish(s2, SessionState.COMPLETED);
      assertThat(table.latestDispatched("report")).containsSame(done2);
      assertThat(table.latestDispatched("missing")).isEmpty();
      assertThat(table.latestDispatched(null)).isEmpty();
    }

    @Test
    void clientSessionsAreNeverFoundByTaskName() throws Exception {
      Session http =
          finish(
              table.reserveDispatch("h", "d", "report_1", null).session(), SessionState.COMPLETED);
      clock.advance(Duration.ofSeconds(1));
      // A client runs its own sessions under the same task name, later: they are not HTTP's.
      table.reserve("c-run", "c1", "d", "report_1", "forge");
      finish(
          table.reserve("c-done", "c1", "d", "report_1", "forge").session(),
          SessionState.COMPLETED);
      finish(
          table.reserve("c-hub", null, "d", "report_1", "remote").session(),
          SessionState.COMPLETED);

      assertThat(table.latestDispatched("report_1")).containsSame(http);
    }

    @Test
    void anAbortedDispatchGivesTheNameBackToTheDispatchBefore() throws Exception {
      Session first =
          finish(table.reserveDispatch("a", "d", "n", null).session(), SessionState.COMPLETED);
      Reservation second = table.reserveDispatch("b", "d", "n", null);
      assertThat(second.previousDispatch()).isEqualTo(first.key());
      assertThat(table.latestDispatched("n")).containsSame(second.session());

      table.abort(second);

      assertThat(table.latestDispatched("n")).containsSame(first);
    }

    @Test
    void aDispatchThatLeftTheHistoryIsNoLongerFound() throws Exception {
      table = new SessionTable(1, Duration.ofHours(1), clock);
      finish(table.reserveDispatch("a", "d", "n", null).session(), SessionState.COMPLETED);
      finish(table.reserveDispatch("b", "d", "m", null).session(), SessionState.COMPLETED);

      assertThat(table.latestDispatched("n")).isEmpty();
      assertThat(table.latestDispatched("m")).isPresent();
      assertThat(table.latestDispatched("n")).isEmpty();
    }

    @Test
    void listAndRunsShowEveryRunOfAReusedIdNewestFirst() throws Exception {
      Session a1 = runAndFinish("a", "c1");
      clock.advance(Duration.ofSeconds(1));
      Session b = reserve("b", "c2");
      clock.advance(Duration.ofSeconds(1));
      Session a2 = runAndFinish("a", "c2");
      clock.advance(Duration.ofSeconds(1));
      Session a3 = reserve("a", "c3");

      assertThat(table.list(s -> true, 10)).containsExactly(a3, a2, b, a1);
      assertThat(table.list(s -> "a".equals(s.id()), 10)).containsExactly(a3, a2, a1);
      assertThat(table.runs("a", 10)).containsExactly(a3, a2, a1);
      assertThat(table.runs("a", 2)).containsExactly(a3, a2);
      assertThat(table.runs("a", 0)).isEmpty();
      assertThat(table.get(a2.key())).containsSame(a2);
      assertThat(table.get(new SessionKey("a", 123_456))).isEmpty();
    }

    @Test
    void listIsNewestFirstFilteredAndLimited() throws Exception {
      Session a = reserve("a", "c1");
      clock.advance(Duration.ofSeconds(1));
      Session b = reserve("b", "c2");
      clock.advance(Duration.ofSeconds(1));
      Session c = reserve("c", "c1");
      Session d = reserve("d", "c1"); // same instant as c, later run
      Session doneA = finish(a, SessionState.COMPLETED);

      assertThat(table.list(s -> true, 10)).containsExactly(d, c, b, doneA);
      assertThat(table.list(s -> true, 2)).containsExactly(d, c);
      assertThat(table.list(s -> "c1".equals(s.ownerId()), 10)).containsExactly(d, c, doneA);
      assertThat(table.list(Session::isRunning, 10)).containsExactly(d, c, b);
      assertThat(table.list(s -> false, 10)).isEmpty();
      assertThat(table.list(s -> true, 0)).isEmpty();
      assertThat(b.createdAt()).isBefore(c.createdAt());
    }
  }
}
