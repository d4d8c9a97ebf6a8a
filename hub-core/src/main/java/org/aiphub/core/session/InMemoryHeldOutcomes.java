package org.aiphub.core.session;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * {@link HeldOutcomes} in this process's memory: gone with the process. Every operation takes one
 * lock, briefly: a hold or a take costs O(log n) plus the outcomes it returns, an expiry O(log n)
 * per outcome dropped.
 */
public final class InMemoryHeldOutcomes implements HeldOutcomes {
  /** Oldest first: by when the session ended, then by run, then by id (a key is unique). */
  private static final Comparator<Entry> BY_END =
      Comparator.comparing((Entry e) -> e.outcome.endedAt())
          .thenComparingLong(e -> e.outcome.run())
          .thenComparing(e -> e.outcome.id());

  private final Limits limits;
  private final Clock clock;
  private final Map<SessionKey, Entry> byKey = new HashMap<>();
  private final Map<String, Owner> byOwner = new HashMap<>();
  private final TreeSet<Entry> byEnd = new TreeSet<>(BY_END);
  private long bytes;

  /** A store with these limits, aging outcomes by {@code clock}. */
  public InMemoryHeldOutcomes(Limits limits, Clock clock) {
    this.limits = Objects.requireNonNull(limits, "limits");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public synchronized Optional<DropReason> hold(Session outcome, long size) {
    String owner = outcome.ownerId();
    if (owner == null || outcome.isRunning() || outcome.endedAt() == null) {
      throw new IllegalArgumentException("only a finished session with an owner can be held");
    }
    if (size < 0) {
      throw new IllegalArgumentException("size must not be negative: " + size);
    }
    if (byKey.containsKey(outcome.key())) {
      return Optional.empty();
    }
    if (expired(outcome, clock.instant())) {
      return Optional.of(DropReason.AGE);
    }
    Owner o = byOwner.get(owner);
    long ownerCount = o == null ? 0 : o.entries.size();
    long ownerBytes = o == null ? 0 : o.bytes;
    if (ownerCount >= limits.perOwner() || size > limits.bytesPerOwner() - ownerBytes) {
      return Optional.of(DropReason.OWNER_LIMIT);
    }
    if (size > limits.bytes() - bytes) {
      return Optional.of(DropReason.HUB_LIMIT);
    }
    Entry e = new Entry(outcome.withHeld(false), size);
    if (o == null) {
      o = new Owner();
      byOwner.put(owner, o);
    }
    o.entries.put(outcome.key(), e);
    o.bytes += size;
    byKey.put(outcome.key(), e);
    byEnd.add(e);
    bytes += size;
    return Optional.empty();
  }

  @Override
  public synchronized List<Session> takeFor(String owner) {
    List<Session> out = new ArrayList<>();
    Owner o = owner == null ? null : byOwner.get(owner);
    if (o == null) {
      return out;
    }
    Instant now = clock.instant();
    List<Entry> taken = new ArrayList<>();
    for (Iterator<Entry> it = o.entries.values().iterator(); it.hasNext(); ) {
      Entry e = it.next();
      if (!expired(e.outcome, now)) {
        it.remove();
        taken.add(e);
      }
    }
    for (Entry e : taken) {
      forget(e, o);
    }
    if (o.entries.isEmpty()) {
      byOwner.remove(owner);
    }
    taken.sort(BY_END);
    for (Entry e : taken) {
      out.add(e.outcome);
    }
    return out;
  }

  @Override
  public synchronized Optional<Session> peek(SessionKey key) {
    Entry e = byKey.get(key);
    return e == null ? Optional.empty() : Optional.of(e.outcome);
  }

  @Override
  public synchronized List<Session> expire() {
    List<Session> out = new ArrayList<>();
    Instant now = clock.instant();
    while (!byEnd.isEmpty() && expired(byEnd.first().outcome, now)) {
      Entry e = byEnd.first();
      Owner o = byOwner.get(e.outcome.ownerId());
      o.entries.remove(e.outcome.key());
      forget(e, o);
      if (o.entries.isEmpty()) {
        byOwner.remove(e.outcome.ownerId());
      }
      out.add(e.outcome);
    }
    return out;
  }

  @Override
  public synchronized Sizes sizes() {
    return new Sizes(byKey.size(), bytes);
  }

  @Override
  public synchronized Sizes sizes(String owner) {
    Owner o = owner == null ? null : byOwner.get(owner);
    return o == null ? Sizes.NONE : new Sizes(o.entries.size(), o.bytes);
  }

  /** Removes an entry already taken out of its owner's map from everything else. */
  private void forget(Entry e, Owner o) {
    byKey.remove(e.outcome.key());
    byEnd.remove(e);
    o.bytes -= e.size;
    bytes -= e.size;
  }

  private boolean expired(Session s, Instant now) {
    return s.endedAt().isBefore(now.minus(limits.age()));
  }

  private static final class Entry {
    final Session outcome;
    final long size;

    Entry(Session outcome, long size) {
      this.outcome = outcome;
      this.size = size;
    }
  }

  private static final class Owner {
    final LinkedHashMap<SessionKey, Entry> entries = new LinkedHashMap<>();
    long bytes;
  }
}
