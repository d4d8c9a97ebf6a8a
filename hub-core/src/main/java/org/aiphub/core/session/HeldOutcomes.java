package org.aiphub.core.session;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Outcomes kept for owners who were offline when their session ended, until the owner is back
 * ({@link #takeFor}) or the outcome is too old ({@link #expire}). Held outcomes are not history:
 * they live in their own store, bounded per owner (count and bytes) and in total bytes, and leave
 * only by being taken or by age, never because of other clients' traffic. An outcome that does not
 * fit is not held ({@link #hold} says why); nothing already held is evicted to make room.
 *
 * <p>The {@link SessionTable} decides what may be held (the newest run of its id, an owner) and
 * keeps the id refused to others while its outcome is held; a store only keeps outcomes. One
 * contract test ({@code HeldOutcomesContractTest} in hub-core's test-jar) runs against every
 * implementation: {@link InMemoryHeldOutcomes} here; a store that survives the death of a node
 * (cluster mode) runs the same test. Implementations are thread-safe and answer without blocking
 * for long: the table calls them on event loops.
 */
public interface HeldOutcomes {
  /**
   * Keeps a finished session's outcome for its owner.
   *
   * @param outcome the finished session, whole (result included), with an owner
   * @param bytes what keeping it costs, as the caller measured it (estimated heap)
   * @return empty when it is held (or was already held under the same key), else why it was not:
   *     {@link DropReason#OWNER_LIMIT} when the owner's count or bytes would pass its limit (an
   *     outcome bigger than the per-owner bytes is never held), {@link DropReason#HUB_LIMIT} when
   *     the total bytes would, {@link DropReason#AGE} when it is already older than the age limit
   */
  Optional<DropReason> hold(Session outcome, long bytes);

  /**
   * Removes and returns every outcome held for {@code owner} that is not older than the age limit,
   * oldest first (by when the session ended, then by run). Each outcome is handed out once, also
   * under concurrent calls. Outcomes past the age limit are left for {@link #expire}.
   */
  List<Session> takeFor(String owner);

  /** The outcome held under this key, if any, without taking it. */
  Optional<Session> peek(SessionKey key);

  /** Drops every outcome older than the age limit and returns them, each once. */
  List<Session> expire();

  /** Outcomes held, and their bytes, in total. */
  Sizes sizes();

  /** Outcomes held for one owner, and their bytes. */
  Sizes sizes(String owner);

  /** Why an outcome is not (or no longer) held. */
  enum DropReason {
    /** Older than the age limit. */
    AGE("age"),
    /** Its owner already had its limit of held outcomes or bytes. */
    OWNER_LIMIT("owner_limit"),
    /** The hub already held its limit of bytes of held outcomes. */
    HUB_LIMIT("hub_limit");

    private final String label;

    DropReason(String label) {
      this.label = label;
    }

    /** The label metrics and logs use. */
    public String label() {
      return label;
    }
  }

  /**
   * A count of outcomes and what they cost.
   *
   * @param count outcomes
   * @param bytes their bytes, as measured when held
   */
  record Sizes(long count, long bytes) {
    /** Nothing held. */
    public static final Sizes NONE = new Sizes(0, 0);
  }

  /**
   * How much may be held, and for how long.
   *
   * @param perOwner most outcomes held for one owner
   * @param bytesPerOwner most bytes held for one owner
   * @param bytes most bytes held in total
   * @param age how long an outcome is held after its session ended
   */
  record Limits(int perOwner, long bytesPerOwner, long bytes, Duration age) {
    /** Config key of {@link #perOwner}. */
    public static final String PER_OWNER_KEY = "held_outcomes_per_owner";

    /** Config key of {@link #bytesPerOwner}. */
    public static final String BYTES_PER_OWNER_KEY = "held_bytes_per_owner";

    /** Config key of {@link #bytes}. */
    public static final String BYTES_KEY = "held_bytes";

    /** Config key of {@link #age}. */
    public static final String AGE_KEY = "held_age";

    /** Requires positive limits. */
    public Limits {
      Objects.requireNonNull(age, "age");
      if (perOwner < 1 || bytesPerOwner < 1 || bytes < 1) {
        throw new IllegalArgumentException(
            "held outcome limits must be positive: "
                + perOwner
                + ", "
                + bytesPerOwner
                + ", "
                + bytes);
      }
      if (age.isNegative() || age.isZero()) {
        throw new IllegalArgumentException("held age must be positive, was " + age);
      }
    }

    /** No count or byte limit, only an age. */
    public static Limits ageOnly(Duration age) {
      return new Limits(Integer.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, age);
    }
  }
}
