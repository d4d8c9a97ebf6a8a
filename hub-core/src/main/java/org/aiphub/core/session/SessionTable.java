package org.aiphub.core.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.aiphub.core.json.JsonFootprint;
import org.aiphub.core.json.JsonValues;

/**
 * Every session the hub knows: the running ones, a bounded history of finished ones, and (in a
 * {@link HeldOutcomes} store) the outcomes held for owners who were offline.
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
 *   <li>What the table keeps is bounded by a {@link SessionBudget}: a long request or result is
 *       kept as a {@link Truncation} marker (the caller still gets the whole result from {@link
 *       #finish}), and the records of each account (an owner, or the hub for HTTP dispatches) and
 *       of all of them are bounded in bytes; the oldest finished records leave first.
 *   <li>Finished sessions stay in the history until it holds more than its size limit, passes a
 *       byte limit, or they are older than its age limit. Outcomes whose owner was offline are held
 *       whole, apart from the history, in the {@link HeldOutcomes} store, and handed out once by
 *       {@link #takeHeld} when the owner is back; only their own limits and age drop them.
 *   <li>Task names of sessions dispatched over HTTP ({@link #reserveDispatch}) are their own
 *       namespace, indexed by name ({@link #latestDispatched}); no other session is found there.
 * </ul>
 *
 * Thread-safe. Per-id atomicity comes from {@link ConcurrentHashMap#compute} on the id's entry in
 * the map of ids in use; the records of an id change only inside it. The byte accounts and the
 * history's order are guarded by one lock, taken briefly once per reservation and finish (never
 * inside an id's compute, so the two cannot deadlock).
 */
public final class SessionTable {
  /**
   * Heap of a record beyond its strings and result: the {@link Session} object, its key and
   * instants, and its entries in the table's maps and queues (measured: {@code
   * SessionTableHeapTest}).
   */
  static final long RECORD_OVERHEAD = 320;

  /** The account of sessions without an owner; never a client id (those are not empty). */
  private static final String HUB_ACCOUNT = "";

  /** Receives outcomes the held store dropped. */
  @FunctionalInterface
  public interface HeldDropListener {
    /** {@code outcome} is no longer held, and was not delivered, for {@code reason}. */
    void dropped(Session outcome, HeldOutcomes.DropReason reason);
  }

  /**
   * The ids that may not be used for a new run, each with the record that blocks it: its running
   * run, or its newest finished run while that run's outcome is held. Never both: an outcome is
   * held only while its run is the newest of its id, and no new run starts while it is held.
   */
  private final ConcurrentHashMap<String, Session> inUse = new ConcurrentHashMap<>();

  /** Every record, running and finished, by (id, run): an id's runs are one contiguous range. */
  private final ConcurrentSkipListMap<SessionKey, Session> records = new ConcurrentSkipListMap<>();

  /** The newest run dispatched over HTTP under each task name, while the table holds it. */
  private final ConcurrentHashMap<String, SessionKey> dispatched = new ConcurrentHashMap<>();

  /** Guards {@link #history}, {@link #accounts} and changes to the byte totals. */
  private final Object lock = new Object();

  /** Finished records in the order they finished, for eviction. */
  private final LinkedHashMap<SessionKey, Kept> history = new LinkedHashMap<>();

  /** Bytes kept and finished records per account (owner id, or {@link #HUB_ACCOUNT}). */
  private final HashMap<String, Account> accounts = new HashMap<>();

  /** Bytes of all records kept; changed under {@link #lock}, read without it. */
  private final AtomicLong keptBytes = new AtomicLong();

  /** Records in {@link #history}; changed under {@link #lock}, read without it. */
  private final AtomicInteger historyCount = new AtomicInteger();

  private volatile HeldDropListener heldDrops = (s, r) -> {};
  private final HeldOutcomes held;
  private final SessionBudget budget;
  private final AtomicLong runs = new AtomicLong();
  private final AtomicInteger running = new AtomicInteger();
  private final LongAdder completed = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder cancelled = new LongAdder();
  private final int maxHistory;
  private final Duration maxAge;
  private final Clock clock;

  /**
   * A table without byte limits, whose held outcomes last as long as the history's age.
   *
   * @param maxHistory most finished sessions kept (at least 1)
   * @param maxAge how long a finished session is kept
   * @param clock time source
   */
  public SessionTable(int maxHistory, Duration maxAge, Clock clock) {
    this(
        maxHistory,
        maxAge,
        SessionBudget.UNLIMITED,
        new InMemoryHeldOutcomes(HeldOutcomes.Limits.ageOnly(positive(maxAge)), clock),
        clock);
  }

  /**
   * A table.
   *
   * @param maxHistory most finished sessions kept (at least 1)
   * @param maxAge how long a finished session is kept
   * @param budget what the table keeps of requests and results, in bytes
   * @param held where outcomes for offline owners are held
   * @param clock time source
   */
  public SessionTable(
      int maxHistory, Duration maxAge, SessionBudget budget, HeldOutcomes held, Clock clock) {
    if (maxHistory < 1) {
      throw new IllegalArgumentException("maxHistory must be at least 1, was " + maxHistory);
    }
    this.maxHistory = maxHistory;
    this.maxAge = positive(maxAge);
    this.budget = Objects.requireNonNull(budget, "budget");
    this.held = Objects.requireNonNull(held, "held");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  private static Duration positive(Duration maxAge) {
    if (maxAge.isNegative() || maxAge.isZero()) {
      throw new IllegalArgumentException("maxAge must be positive, was " + maxAge);
    }
    return maxAge;
  }

  /** Tells {@code listener} of every held outcome dropped from now on (one listener). */
  public void onHeldDropped(HeldDropListener listener) {
    this.heldDrops = Objects.requireNonNull(listener, "listener");
  }

  /**
   * Enters a new running session. Earlier finished runs of the same id stay in the history as they
   * are. A request longer than the budget's {@code requestBytes} is kept truncated: send the device
   * the request as received.
   *
   * @param ownerId the owning constellation, or {@code null} for a hub-owned session
   * @throws SessionConflictException when a run of the id is running, or its outcome is held (for
   *     another owner, or for this owner but not delivered yet)
   * @throws SessionBudgetException when the owner's (or the hub's) running sessions already keep
   *     all the bytes they may
   */
  public Reservation reserve(
      String sessionId, String ownerId, String executorId, String taskName, String request)
      throws SessionConflictException, SessionBudgetException {
    return new Reservation(enter(sessionId, ownerId, executorId, taskName, request));
  }

  /**
   * Enters a new running session that the hub dispatched itself (HTTP): it has no owner, and its
   * task name is what {@link #latestDispatched} finds it by.
   *
   * @throws SessionConflictException when the id is in use (it should be fresh)
   * @throws SessionBudgetException when the hub's own sessions keep all the bytes they may
   */
  public Reservation reserveDispatch(
      String sessionId, String executorId, String taskName, String request)
      throws SessionConflictException, SessionBudgetException {
    Objects.requireNonNull(taskName, "taskName");
    Session fresh = enter(sessionId, null, executorId, taskName, request);
    SessionKey[] previous = new SessionKey[1];
    dispatched.compute(
        taskName,
        (name, cur) -> {
          if (cur != null && cur.run() > fresh.run()) {
            return cur; // a later dispatch of the same name got here first
          }
          previous[0] = cur;
          return fresh.key();
        });
    return new Reservation(fresh, previous[0]);
  }

  private Session enter(
      String sessionId, String ownerId, String executorId, String taskName, String request)
      throws SessionConflictException, SessionBudgetException {
    Objects.requireNonNull(sessionId, "sessionId");
    String kept = request;
    long requestBytes = 0;
    if (request != null && (long) request.length() * 3 > budget.requestBytes()) {
      long n = JsonFootprint.utf8Length(request);
      if (n > budget.requestBytes()) {
        kept = JsonFootprint.cut(request, Truncation.PREVIEW_CHARS);
        requestBytes = n;
      }
    }
    Session fresh =
        new Session(
            sessionId,
            runs.incrementAndGet(),
            ownerId,
            executorId,
            taskName,
            kept,
            SessionState.RUNNING,
            clock.instant(),
            null,
            null,
            null,
            false,
            requestBytes);
    long size = recordBytes(fresh, 0);
    admit(account(ownerId), size);
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
      release(account(ownerId), size);
      throw new SessionConflictException(c.reason, refusal(c.reason, sessionId));
    }
    running.incrementAndGet();
    return fresh;
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
      release(account(s.ownerId()), recordBytes(s, 0));
      if (s.ownerId() == null && s.taskName() != null) {
        SessionKey previous = r.previousDispatch();
        dispatched.computeIfPresent(
            s.taskName(),
            (name, cur) ->
                !cur.equals(s.key())
                    ? cur
                    : previous != null && records.containsKey(previous) ? previous : null);
      }
    }
    return undone[0];
  }

  /**
   * Moves a running session to its final state, if nothing else did first. The history keeps the
   * result as the budget allows (a {@link Truncation} marker when its JSON is longer than {@code
   * resultBytes}); the record returned carries it whole, for the owner and for {@link #hold}.
   *
   * @param expected the running record as the caller looked it up
   * @param outcome COMPLETED, FAILED or CANCELLED
   * @param result the device's result, or {@code null}
   * @param error the failure reason, or {@code null}
   * @return the finished record, result whole, when this call won; empty when the session had
   *     already ended
   */
  public Optional<Session> finish(
      Session expected, SessionState outcome, Object result, String error) {
    if (!outcome.isFinal()) {
      throw new IllegalArgumentException("not a final state: " + outcome);
    }
    Object whole = JsonValues.freeze(result);
    Object keptResult = whole;
    long keptHeap = 0;
    if (whole != null) {
      JsonFootprint.Size size = JsonFootprint.of(whole);
      keptHeap = size.heapBytes();
      if (size.jsonBytes() > budget.resultBytes()) {
        keptResult = Truncation.ofValue(whole, size.jsonBytes());
        keptHeap = JsonFootprint.of(keptResult).heapBytes();
      }
    }
    Object keep = keptResult;
    Instant now = clock.instant();
    Session[] done = new Session[2];
    inUse.computeIfPresent(
        expected.id(),
        (k, cur) -> {
          if (cur != expected || !cur.isRunning()) {
            return cur;
          }
          done[0] = cur.finish(outcome, now, whole, error);
          done[1] = keep == whole ? done[0] : done[0].withResult(keep);
          records.put(done[1].key(), done[1]);
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
    Session kept = done[1];
    long runningSize = recordBytes(expected, 0);
    long finishedSize = recordBytes(kept, keptHeap);
    synchronized (lock) {
      String name = account(kept.ownerId());
      Account a = accounts.computeIfAbsent(name, n -> new Account());
      a.bytes += finishedSize - runningSize;
      keptBytes.addAndGet(finishedSize - runningSize);
      Kept entry = new Kept(kept, name, finishedSize);
      history.put(kept.key(), entry);
      a.history.addLast(entry);
      evictLocked(now);
      while (a.bytes > budget.bytesPerOwner() && !a.history.isEmpty()) {
        removeLocked(a.history.peekFirst());
      }
      published();
    }
    return Optional.of(done[0]);
  }

  /**
   * Keeps a finished session's outcome, whole, for its owner, who is offline, until {@link
   * #takeHeld}. While it is held, its id is refused to everyone, its owner included ({@link
   * #reserve}). Outcomes past the held age are dropped first (and reported).
   *
   * @param finished the finished session as {@link #finish} returned it (result whole)
   * @return false when the session has no owner or is running, is already held, is no longer the
   *     newest run of its id (an id that moved on must never replay an older outcome to whoever
   *     waits on it now), or does not fit the held store's limits (then the drop is reported to the
   *     {@link #onHeldDropped} listener)
   */
  public boolean hold(Session finished) {
    if (finished.ownerId() == null || finished.isRunning() || finished.run() > runs.get()) {
      return false;
    }
    expireHeld();
    long size = recordBytes(finished, heapOf(finished.result()));
    boolean[] attempted = new boolean[1];
    HeldOutcomes.DropReason[] dropped = new HeldOutcomes.DropReason[1];
    inUse.compute(
        finished.id(),
        (k, cur) -> {
          if (cur != null) {
            return cur; // a newer run is running, or this outcome is held already
          }
          Session newest = newest(finished.id());
          if (newest != null && newest.run() > finished.run()) {
            return null; // the id moved on
          }
          // This run is the newest, or its record already left the history (then an older run
          // may be the newest left): the outcome is held apart from the history either way.
          attempted[0] = true;
          dropped[0] = held.hold(finished.withHeld(false), size).orElse(null);
          if (dropped[0] != null) {
            return null;
          }
          Session record = records.get(finished.key());
          Session lockRecord;
          if (record != null) {
            lockRecord = record.withHeld(true);
            records.put(lockRecord.key(), lockRecord);
          } else {
            lockRecord = finished.withHeld(true);
          }
          return lockRecord;
        });
    if (dropped[0] != null) {
      heldDrops.dropped(finished.withHeld(false), dropped[0]);
    }
    return attempted[0] && dropped[0] == null;
  }

  /**
   * Hands out, once, every outcome held for {@code ownerId} and not older than the held age, oldest
   * first. Each session comes back un-held, with its result whole, and its id is free again; a
   * caller that fails to deliver one should {@link #hold} it again.
   */
  public List<Session> takeHeld(String ownerId) {
    // Age expiry otherwise runs on a timer: without this, an outcome past the held age could
    // still reach its owner until the next sweep.
    expireHeld();
    List<Session> out = new ArrayList<>();
    if (ownerId == null) {
      return out;
    }
    for (Session s : held.takeFor(ownerId)) {
      if (release(s)) {
        out.add(s.withHeld(false));
      }
    }
    out.sort(Comparator.comparing(Session::endedAt).thenComparingLong(Session::run));
    return out;
  }

  /** Frees the id of a run whose outcome was held and no longer is; false if it was not held. */
  private boolean release(Session s) {
    boolean[] released = new boolean[1];
    inUse.computeIfPresent(
        s.id(),
        (k, cur) -> {
          if (cur.run() != s.run() || !cur.held()) {
            return cur;
          }
          released[0] = true;
          Session record = records.get(s.key());
          if (record != null) {
            records.put(record.key(), record.withHeld(false));
          }
          return null;
        });
    return released[0];
  }

  /** Drops held outcomes past the held age, frees their ids and reports them; returns how many. */
  private int expireHeld() {
    List<Session> gone = held.expire();
    for (Session s : gone) {
      release(s);
      heldDrops.dropped(s, HeldOutcomes.DropReason.AGE);
    }
    return gone.size();
  }

  /**
   * The newest run of an id: its running session, or its most recent finished one; a run whose
   * outcome is held counts even once its record left the history.
   */
  public Optional<Session> get(String sessionId) {
    if (sessionId == null) {
      return Optional.empty();
    }
    Session s = newest(sessionId);
    if (s == null) {
      Session blocking = inUse.get(sessionId);
      s = blocking != null && blocking.held() ? blocking : null;
    }
    return Optional.ofNullable(s);
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

  /**
   * The newest session dispatched over HTTP ({@link #reserveDispatch}) with this task name, running
   * or finished, while the table holds it. Sessions started by clients are never found here,
   * whatever their task name. A map look-up, not a scan.
   */
  public Optional<Session> latestDispatched(String taskName) {
    SessionKey key = taskName == null ? null : dispatched.get(taskName);
    return key == null ? Optional.empty() : Optional.ofNullable(records.get(key));
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
        running.get(), completed.sum(), failed.sum(), cancelled.sum(), held.sizes().count());
  }

  /** Number of finished sessions in the history. */
  public int historySize() {
    return historyCount.get();
  }

  /** Estimated heap of the records kept (running and history; held outcomes not included). */
  public long keptBytes() {
    return keptBytes.get();
  }

  /** Held outcomes and their bytes, in total. */
  public HeldOutcomes.Sizes heldSizes() {
    return held.sizes();
  }

  /** Estimated heap of the records kept for one owner ({@code null}: the hub's own sessions). */
  public long keptBytes(String ownerId) {
    synchronized (lock) {
      Account a = accounts.get(account(ownerId));
      return a == null ? 0 : a.bytes;
    }
  }

  /**
   * Drops finished sessions past the history's size, byte or age limit, and held outcomes past the
   * held age; returns how many records and outcomes left.
   */
  public int evictExpired() {
    int n;
    synchronized (lock) {
      n = evictLocked(clock.instant());
      published();
    }
    return n + expireHeld();
  }

  // -------------------------------------------------------------------------------- accounts

  /** Charges {@code size} to an account, first evicting history to make room, or refuses. */
  private void admit(String name, long size) throws SessionBudgetException {
    synchronized (lock) {
      Account a = accounts.computeIfAbsent(name, n -> new Account());
      while (size > budget.bytesPerOwner() - a.bytes && !a.history.isEmpty()) {
        removeLocked(a.history.peekFirst());
      }
      if (size > budget.bytesPerOwner() - a.bytes) {
        dropIfEmpty(name, a);
        published();
        throw new SessionBudgetException(
            SessionBudget.BYTES_PER_OWNER_KEY,
            (name.equals(HUB_ACCOUNT)
                    ? "the sessions dispatched over HTTP"
                    : "this client's running sessions")
                + " already keep "
                + a.bytes
                + " bytes of their limit of "
                + budget.bytesPerOwner()
                + " ("
                + SessionBudget.BYTES_PER_OWNER_KEY
                + "); try again when some have ended");
      }
      while (size > budget.bytes() - keptBytes.get() && !history.isEmpty()) {
        removeLocked(history.values().iterator().next());
      }
      if (size > budget.bytes() - keptBytes.get()) {
        dropIfEmpty(name, a);
        published();
        throw new SessionBudgetException(
            SessionBudget.BYTES_KEY,
            "the hub's running sessions already keep "
                + keptBytes.get()
                + " bytes of its limit of "
                + budget.bytes()
                + " ("
                + SessionBudget.BYTES_KEY
                + "); try again when some have ended");
      }
      a.bytes += size;
      keptBytes.addAndGet(size);
      published();
    }
  }

  private void release(String name, long size) {
    synchronized (lock) {
      Account a = accounts.get(name);
      if (a != null) {
        a.bytes -= size;
        dropIfEmpty(name, a);
      }
      keptBytes.addAndGet(-size);
      published();
    }
  }

  /** Evicts by count, age and the hub's bytes, oldest first. Under {@link #lock}. */
  private int evictLocked(Instant now) {
    Instant cutoff = now.minus(maxAge);
    int n = 0;
    for (Iterator<Kept> it = history.values().iterator(); it.hasNext(); ) {
      Kept oldest = it.next();
      if (history.size() <= maxHistory
          && keptBytes.get() <= budget.bytes()
          && !oldest.record.endedAt().isBefore(cutoff)) {
        break;
      }
      it.remove();
      forgetLocked(oldest);
      n++;
    }
    return n;
  }

  /** Removes one finished record from the history and the table. Under {@link #lock}. */
  private void removeLocked(Kept k) {
    history.remove(k.record.key());
    forgetLocked(k);
  }

  /** Forgets a record already out of {@link #history}. Under {@link #lock}. */
  private void forgetLocked(Kept k) {
    Account a = accounts.get(k.account);
    if (a != null) {
      // The hub's oldest record is also its account's oldest, and an account's own eviction takes
      // its oldest: either way the head of the account's queue.
      if (a.history.peekFirst() == k) {
        a.history.pollFirst();
      } else {
        a.history.remove(k);
      }
      a.bytes -= k.bytes;
      dropIfEmpty(k.account, a);
    }
    keptBytes.addAndGet(-k.bytes);
    SessionKey key = k.record.key();
    // Inside the id's compute: a hold or release of the same run sees the record or its absence,
    // never puts back one removed here. A newer record under the same key (its held flag
    // changed) is the same run: it goes too. Newer runs have their own keys and stay.
    inUse.compute(
        key.id(),
        (id, cur) -> {
          records.remove(key);
          return cur;
        });
    if (k.record.ownerId() == null && k.record.taskName() != null) {
      dispatched.remove(k.record.taskName(), key);
    }
  }

  private void dropIfEmpty(String name, Account a) {
    if (a.bytes == 0 && a.history.isEmpty()) {
      accounts.remove(name);
    }
  }

  /** Publishes the history's size for lock-free readers. Under {@link #lock}. */
  private void published() {
    historyCount.set(history.size());
  }

  private static String account(String ownerId) {
    return ownerId == null ? HUB_ACCOUNT : ownerId;
  }

  /**
   * Estimated heap of a record: its bookkeeping, its strings, and {@code resultHeap} for its
   * result. A function of the record alone, so what is charged is exactly what is credited back.
   */
  static long recordBytes(Session s, long resultHeap) {
    return RECORD_OVERHEAD
        + resultHeap
        + str(s.id())
        + str(s.ownerId())
        + str(s.executorId())
        + str(s.taskName())
        + str(s.request())
        + str(s.error());
  }

  private static long str(String s) {
    return s == null ? 0 : JsonFootprint.stringHeap(s);
  }

  private static long heapOf(Object result) {
    return result == null ? 0 : JsonFootprint.of(result).heapBytes();
  }

  private static String quote(String s) {
    return "'" + (s.length() > 128 ? s.substring(0, 128) + "..." : s) + "'";
  }

  /** A finished record in the history, with what it costs. */
  private static final class Kept {
    final Session record;
    final String account;
    final long bytes;

    Kept(Session record, String account, long bytes) {
      this.record = record;
      this.account = account;
      this.bytes = bytes;
    }
  }

  /** What one account keeps: bytes of its running and finished records, and the finished ones. */
  private static final class Account {
    long bytes;
    final ArrayDeque<Kept> history = new ArrayDeque<>();
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
