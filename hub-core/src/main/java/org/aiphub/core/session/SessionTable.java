package org.aiphub.core.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Every session the hub knows: the running ones and a bounded history of finished ones.
 *
 * <ul>
 *   <li>A session id is unique among running sessions. A finished id may be reused by the same
 *       owner; another owner may not reuse it while the old run is still in the history.
 *   <li>The first transition out of RUNNING wins ({@link #finish}); every later attempt gets
 *       nothing back, so whoever wins is the only one to notify anybody.
 *   <li>Finished sessions stay in the history until it holds more than its size limit or they are
 *       older than its age limit. Outcomes whose owner was offline are held there and handed out
 *       once by {@link #takeHeld} when the owner is back.
 * </ul>
 *
 * Thread-safe and lock-free: per-id atomicity comes from {@link ConcurrentHashMap#compute}.
 */
public final class SessionTable {
  private final ConcurrentHashMap<String, Session> byId = new ConcurrentHashMap<>();
  private final ConcurrentLinkedDeque<Session> history = new ConcurrentLinkedDeque<>();
  private final AtomicInteger historySize = new AtomicInteger();
  private final ConcurrentHashMap<String, ConcurrentLinkedQueue<Session>> heldByOwner =
      new ConcurrentHashMap<>();
  private final AtomicLong runs = new AtomicLong();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger held = new AtomicInteger();
  private final LongAdder completed = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder cancelled = new LongAdder();
  private final int maxHistory;
  private final Duration maxAge;
  private final Clock clock;

  /**
   * A table.
   *
   * @param maxHistory most finished sessions kept (at least 1)
   * @param maxAge how long a finished session is kept
   * @param clock time source
   */
  public SessionTable(int maxHistory, Duration maxAge, Clock clock) {
    if (maxHistory < 1) {
      throw new IllegalArgumentException("maxHistory must be at least 1, was " + maxHistory);
    }
    if (maxAge.isNegative() || maxAge.isZero()) {
      throw new IllegalArgumentException("maxAge must be positive, was " + maxAge);
    }
    this.maxHistory = maxHistory;
    this.maxAge = maxAge;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Enters a new running session.
   *
   * @param ownerId the owning constellation, or {@code null} for a hub-owned session
   * @throws SessionConflictException when the id is running, or was used by another owner
   */
  public Reservation reserve(
      String sessionId, String ownerId, String executorId, String taskName, String request)
      throws SessionConflictException {
    Objects.requireNonNull(sessionId, "sessionId");
    Session fresh =
        new Session(
            sessionId,
            runs.incrementAndGet(),
            ownerId,
            executorId,
            taskName,
            request,
            SessionState.RUNNING,
            clock.instant(),
            null,
            null,
            null,
            false);
    Session[] previous = new Session[1];
    try {
      byId.compute(
          sessionId,
          (k, cur) -> {
            if (cur != null) {
              if (cur.isRunning() && Objects.equals(cur.ownerId(), ownerId)) {
                throw new Conflict(SessionConflictException.Reason.ALREADY_RUNNING);
              }
              if (cur.isRunning() || !Objects.equals(cur.ownerId(), ownerId)) {
                throw new Conflict(SessionConflictException.Reason.OWNED_BY_ANOTHER);
              }
              if (cur.held()) {
                // Replacing it would orphan the held outcome: deliver first, then reuse.
                throw new Conflict(SessionConflictException.Reason.OUTCOME_UNDELIVERED);
              }
              previous[0] = cur;
            }
            return fresh;
          });
    } catch (Conflict c) {
      String message;
      switch (c.reason) {
        case ALREADY_RUNNING:
          message = "session " + quote(sessionId) + " is already running";
          break;
        case OUTCOME_UNDELIVERED:
          message =
              "session "
                  + quote(sessionId)
                  + " has an outcome not yet delivered to its owner; use a new session_id";
          break;
        default:
          message = "session_id " + quote(sessionId) + " is already used by another client";
      }
      throw new SessionConflictException(c.reason, message);
    }
    running.incrementAndGet();
    return new Reservation(fresh, previous[0]);
  }

  /** Undoes a {@link #reserve} whose dispatch was refused: the table is as it was before. */
  public boolean abort(Reservation r) {
    Session s = r.session();
    boolean[] undone = new boolean[1];
    byId.computeIfPresent(
        s.id(),
        (k, cur) -> {
          if (cur != s) {
            return cur;
          }
          undone[0] = true;
          // The previous run may have left the history while this one was reserved: bringing it
          // back would leave a record that nothing ever evicts.
          return r.previous() != null && inHistory(r.previous()) ? r.previous() : null;
        });
    if (undone[0]) {
      running.decrementAndGet();
    }
    return undone[0];
  }

  /**
   * Moves a running session to its final state, if nothing else did first.
   *
   * @param expected the running record as the caller looked it up
   * @param outcome COMPLETED, FAILED or CANCELLED
   * @param result the device's result, or {@code null}
   * @param error the failure reason, or {@code null}
   * @return the finished record when this call won, empty when the session had already ended
   */
  public Optional<Session> finish(
      Session expected, SessionState outcome, Object result, String error) {
    if (!outcome.isFinal()) {
      throw new IllegalArgumentException("not a final state: " + outcome);
    }
    Instant now = clock.instant();
    Session[] done = new Session[1];
    byId.computeIfPresent(
        expected.id(),
        (k, cur) -> {
          if (cur != expected || !cur.isRunning()) {
            return cur;
          }
          done[0] = cur.finish(outcome, now, result, error);
          return done[0];
        });
    if (done[0] == null) {
      return Optional.empty();
    }
    running.decrementAndGet();
    (outcome == SessionState.COMPLETED
            ? completed
            : outcome == SessionState.FAILED ? failed : cancelled)
        .increment();
    history.addLast(done[0]);
    historySize.incrementAndGet();
    evict(now);
    return Optional.of(done[0]);
  }

  /**
   * Keeps a finished session's outcome for its owner, who is offline, until {@link #takeHeld}.
   *
   * @return false when the session is not (or no longer) in the table, or has no owner
   */
  public boolean hold(Session finished) {
    if (finished.ownerId() == null || finished.isRunning()) {
      return false;
    }
    boolean[] marked = new boolean[1];
    byId.computeIfPresent(
        finished.id(),
        (k, cur) -> {
          if (cur.run() != finished.run() || cur.held()) {
            return cur;
          }
          marked[0] = true;
          return cur.withHeld(true);
        });
    if (marked[0]) {
      held.incrementAndGet();
      // Added inside compute: a takeHeld that removes the owner's queue meanwhile must not leave
      // this outcome in a queue nobody reads any more.
      heldByOwner.compute(
          finished.ownerId(),
          (k, q) -> {
            ConcurrentLinkedQueue<Session> queue = q == null ? new ConcurrentLinkedQueue<>() : q;
            queue.add(finished);
            return queue;
          });
    }
    return marked[0];
  }

  /**
   * Hands out, once, every outcome held for {@code ownerId} and not older than the history age,
   * oldest first. Each session comes back un-held; a caller that fails to deliver one should {@link
   * #hold} it again.
   */
  public List<Session> takeHeld(String ownerId) {
    // Age eviction otherwise runs on a timer: without this, an outcome past the history age could
    // still reach its owner until the next sweep.
    evict(clock.instant());
    ConcurrentLinkedQueue<Session> queue = ownerId == null ? null : heldByOwner.remove(ownerId);
    List<Session> out = new ArrayList<>();
    if (queue == null) {
      return out;
    }
    for (Session s : queue) {
      Session[] released = new Session[1];
      byId.computeIfPresent(
          s.id(),
          (k, cur) -> {
            if (cur.run() != s.run() || !cur.held()) {
              return cur;
            }
            released[0] = cur.withHeld(false);
            return released[0];
          });
      if (released[0] != null) {
        held.decrementAndGet();
        out.add(released[0]);
      }
    }
    out.sort(Comparator.comparing(Session::endedAt));
    return out;
  }

  /** The latest record for an id: its running session, or its most recent finished one. */
  public Optional<Session> get(String sessionId) {
    return sessionId == null ? Optional.empty() : Optional.ofNullable(byId.get(sessionId));
  }

  /** The running session with this id. */
  public Optional<Session> running(String sessionId) {
    Session s = sessionId == null ? null : byId.get(sessionId);
    return s != null && s.isRunning() ? Optional.of(s) : Optional.empty();
  }

  /** The most recently created session with this task name, running or finished. */
  public Optional<Session> latestWithTaskName(String taskName) {
    Session best = null;
    for (Session s : byId.values()) {
      if (Objects.equals(taskName, s.taskName())
          && (best == null
              || s.createdAt().isAfter(best.createdAt())
              || (s.createdAt().equals(best.createdAt()) && s.run() > best.run()))) {
        best = s;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Sessions matching {@code filter}, newest first, at most {@code limit}. */
  public List<Session> list(Predicate<Session> filter, int limit) {
    List<Session> out = new ArrayList<>();
    for (Session s : byId.values()) {
      if (filter.test(s)) {
        out.add(s);
      }
    }
    out.sort(Comparator.comparing(Session::createdAt).thenComparingLong(Session::run).reversed());
    return out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out;
  }

  /** Counters since start-up. */
  public SessionCounts counts() {
    return new SessionCounts(
        running.get(), completed.sum(), failed.sum(), cancelled.sum(), held.get());
  }

  /** Number of finished sessions in the history. */
  public int historySize() {
    return historySize.get();
  }

  /** Drops finished sessions past the history's size or age limit; returns how many. */
  public int evictExpired() {
    return evict(clock.instant());
  }

  private int evict(Instant now) {
    Instant cutoff = now.minus(maxAge);
    int n = 0;
    while (true) {
      Session oldest = history.peekFirst();
      if (oldest == null
          || (historySize.get() <= maxHistory && !oldest.endedAt().isBefore(cutoff))) {
        return n;
      }
      if (!history.remove(oldest)) {
        continue; // another thread evicted it
      }
      historySize.decrementAndGet();
      n++;
      boolean[] wasHeld = new boolean[1];
      byId.computeIfPresent(
          oldest.id(),
          (k, cur) -> {
            if (cur.run() != oldest.run()) {
              return cur; // the id was reused: keep the newer run
            }
            wasHeld[0] = cur.held();
            return null;
          });
      if (wasHeld[0]) {
        held.decrementAndGet();
        heldByOwner.computeIfPresent(
            oldest.ownerId(),
            (k, q) -> {
              q.removeIf(s -> s.run() == oldest.run());
              return q.isEmpty() ? null : q;
            });
      }
    }
  }

  private boolean inHistory(Session s) {
    for (Session h : history) {
      if (h.run() == s.run()) {
        return true;
      }
    }
    return false;
  }

  private static String quote(String s) {
    return "'" + (s.length() > 128 ? s.substring(0, 128) + "..." : s) + "'";
  }

  /** Carries a refusal out of a compute() lambda without a stack trace. */
  private static final class Conflict extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient SessionConflictException.Reason reason;

    Conflict(SessionConflictException.Reason reason) {
      super(null, null, false, false);
      this.reason = reason;
    }
  }
}
