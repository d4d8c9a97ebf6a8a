package org.aiphub.core.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Every session the hub knows: the running ones and a bounded history of finished ones.
 *
 * <ul>
 *   <li>A session id is refused only while a run of it is running, or while its last outcome is
 *       held for an offline owner (then that owner may reuse it once the outcome is delivered, and
 *       nobody else before). A finished id is free for anyone, as in the reference server: Galaxy
 *       reuses {@code <task_name>@t1} from another constellation socket for another device.
 *   <li>Every run is its own record, keyed by {@link SessionKey} (id, run): two runs of one id
 *       never overwrite each other, and neither shows the other's request or result. {@link #get}
 *       answers an id's newest run, {@link #runs} all of them.
 *   <li>The first transition out of RUNNING wins ({@link #finish}); every later attempt gets
 *       nothing back, so whoever wins is the only one to notify anybody.
 *   <li>Finished sessions stay in the history until it holds more than its size limit or they are
 *       older than its age limit. Outcomes whose owner was offline are held there and handed out
 *       once by {@link #takeHeld} when the owner is back.
 * </ul>
 *
 * Thread-safe and lock-free: per-id atomicity comes from {@link ConcurrentHashMap#compute} on the
 * id's entry in the map of ids in use; the records of an id change only inside it.
 */
public final class SessionTable {
  /**
   * The ids that may not be used for a new run, each with the record that blocks it: its running
   * run, or its newest finished run while that run's outcome is held. Never both: an outcome is
   * held only while its run is the newest of its id, and no new run starts while it is held.
   */
  private final ConcurrentHashMap<String, Session> inUse = new ConcurrentHashMap<>();

  /** Every record, running and finished, by (id, run): an id's runs are one contiguous range. */
  private final ConcurrentSkipListMap<SessionKey, Session> records = new ConcurrentSkipListMap<>();

  /** Finished records in the order they finished, for eviction. */
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
   * Enters a new running session. Earlier finished runs of the same id stay in the history as they
   * are.
   *
   * @param ownerId the owning constellation, or {@code null} for a hub-owned session
   * @throws SessionConflictException when a run of the id is running, or its outcome is held (for
   *     another owner, or for this owner but not delivered yet)
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
    try {
      inUse.compute(
          sessionId,
          (k, cur) -> {
            if (cur != null) {
              boolean same = Objects.equals(cur.ownerId(), ownerId);
              if (cur.isRunning()) {
                throw new Conflict(
                    same
                        ? SessionConflictException.Reason.ALREADY_RUNNING
                        : SessionConflictException.Reason.RUNNING_FOR_ANOTHER);
              }
              // Held: replacing it would orphan the outcome; its owner gets it first.
              throw new Conflict(
                  same
                      ? SessionConflictException.Reason.OUTCOME_UNDELIVERED
                      : SessionConflictException.Reason.HELD_FOR_ANOTHER);
            }
            records.put(fresh.key(), fresh);
            return fresh;
          });
    } catch (Conflict c) {
      throw new SessionConflictException(c.reason, refusal(c.reason, sessionId));
    }
    running.incrementAndGet();
    return new Reservation(fresh);
  }

  private static String refusal(SessionConflictException.Reason reason, String sessionId) {
    switch (reason) {
      case ALREADY_RUNNING:
        return "session " + quote(sessionId) + " is already running";
      case OUTCOME_UNDELIVERED:
        return "session "
            + quote(sessionId)
            + " has an outcome not yet delivered to its owner; use a new session_id";
      case HELD_FOR_ANOTHER:
        return "session_id "
            + quote(sessionId)
            + " is already used by another client: its outcome is held until that client"
            + " reconnects; use a new session_id";
      case RUNNING_FOR_ANOTHER:
      default:
        return "session_id "
            + quote(sessionId)
            + " is already used by another client: its session is still running";
    }
  }

  /** Undoes a {@link #reserve} whose dispatch was refused: the table is as it was before. */
  public boolean abort(Reservation r) {
    Session s = r.session();
    boolean[] undone = new boolean[1];
    inUse.computeIfPresent(
        s.id(),
        (k, cur) -> {
          if (cur != s) {
            return cur;
          }
          undone[0] = true;
          records.remove(s.key());
          return null;
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
    inUse.computeIfPresent(
        expected.id(),
        (k, cur) -> {
          if (cur != expected || !cur.isRunning()) {
            return cur;
          }
          done[0] = cur.finish(outcome, now, result, error);
          records.put(done[0].key(), done[0]);
          return null; // the id is free again
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
   * While it is held, its id is refused to everyone, its owner included ({@link #reserve}).
   *
   * @return false when the session is not (or no longer) in the table, has no owner, is already
   *     held, or is no longer the newest run of its id: an id that moved on must never replay an
   *     older outcome to whoever waits on it now
   */
  public boolean hold(Session finished) {
    if (finished.ownerId() == null || finished.isRunning()) {
      return false;
    }
    boolean[] marked = new boolean[1];
    inUse.compute(
        finished.id(),
        (k, cur) -> {
          if (cur != null) {
            return cur; // a newer run is running, or this outcome is held already
          }
          Session newest = newest(finished.id());
          if (newest == null || newest.run() != finished.run() || newest.isRunning()) {
            return null;
          }
          marked[0] = true;
          Session h = newest.withHeld(true);
          records.put(h.key(), h);
          return h;
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
   * oldest first. Each session comes back un-held, and its id is free again; a caller that fails to
   * deliver one should {@link #hold} it again.
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
      inUse.computeIfPresent(
          s.id(),
          (k, cur) -> {
            if (cur.run() != s.run() || !cur.held()) {
              return cur;
            }
            released[0] = cur.withHeld(false);
            records.put(released[0].key(), released[0]);
            return null;
          });
      if (released[0] != null) {
        held.decrementAndGet();
        out.add(released[0]);
      }
    }
    out.sort(Comparator.comparing(Session::endedAt));
    return out;
  }

  /** The newest run of an id: its running session, or its most recent finished one. */
  public Optional<Session> get(String sessionId) {
    return sessionId == null ? Optional.empty() : Optional.ofNullable(newest(sessionId));
  }

  /** One run of an id, running or finished, while the table holds it. */
  public Optional<Session> get(SessionKey key) {
    return Optional.ofNullable(records.get(key));
  }

  /** Every run of an id the table holds, newest first, at most {@code limit}. */
  public List<Session> runs(String sessionId, int limit) {
    List<Session> out = new ArrayList<>();
    if (sessionId == null) {
      return out;
    }
    for (Session s : ofId(sessionId).descendingMap().values()) {
      if (out.size() >= limit) {
        break;
      }
      out.add(s);
    }
    return out;
  }

  /** The running session with this id. */
  public Optional<Session> running(String sessionId) {
    Session s = sessionId == null ? null : inUse.get(sessionId);
    return s != null && s.isRunning() ? Optional.of(s) : Optional.empty();
  }

  /** The most recently created session with this task name, running or finished. */
  public Optional<Session> latestWithTaskName(String taskName) {
    Session best = null;
    for (Session s : records.values()) {
      if (Objects.equals(taskName, s.taskName())
          && (best == null
              || s.createdAt().isAfter(best.createdAt())
              || (s.createdAt().equals(best.createdAt()) && s.run() > best.run()))) {
        best = s;
      }
    }
    return Optional.ofNullable(best);
  }

  /**
   * Sessions (every run of every id) matching {@code filter}, newest first, at most {@code limit}.
   */
  public List<Session> list(Predicate<Session> filter, int limit) {
    List<Session> out = new ArrayList<>();
    for (Session s : records.values()) {
      if (filter.test(s)) {
        out.add(s);
      }
    }
    out.sort(Comparator.comparing(Session::createdAt).thenComparingLong(Session::run).reversed());
    return out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out;
  }

  private Session newest(String sessionId) {
    Map.Entry<SessionKey, Session> e =
        records.floorEntry(new SessionKey(sessionId, Long.MAX_VALUE));
    return e != null && e.getKey().id().equals(sessionId) ? e.getValue() : null;
  }

  private ConcurrentNavigableMap<SessionKey, Session> ofId(String sessionId) {
    return records.subMap(
        new SessionKey(sessionId, Long.MIN_VALUE),
        true,
        new SessionKey(sessionId, Long.MAX_VALUE),
        true);
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
      // Inside the id's compute: a hold or reserve of the same id sees the record or its absence,
      // never a half-removed one. Newer runs of a reused id have their own keys and stay.
      inUse.compute(
          oldest.id(),
          (k, cur) -> {
            records.remove(oldest.key());
            if (cur != null && cur.run() == oldest.run()) {
              wasHeld[0] = cur.held();
              return null;
            }
            return cur;
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
