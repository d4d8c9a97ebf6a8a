package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.HELD_AGE;
import static org.aiphub.server.config.Settings.HELD_BYTES;
import static org.aiphub.server.config.Settings.HELD_BYTES_PER_OWNER;
import static org.aiphub.server.config.Settings.HELD_OUTCOMES_PER_OWNER;
import static org.aiphub.server.config.Settings.HISTORY_AGE;
import static org.aiphub.server.config.Settings.HISTORY_SIZE;
import static org.aiphub.server.config.Settings.SESSION_BYTES;
import static org.aiphub.server.config.Settings.SESSION_BYTES_PER_OWNER;
import static org.aiphub.server.config.Settings.SESSION_REQUEST_BYTES;
import static org.aiphub.server.config.Settings.SESSION_RESULT_BYTES;

import java.time.Duration;
import org.aiphub.core.session.HeldOutcomes;
import org.aiphub.core.session.SessionBudget;

/**
 * What the hub keeps of sessions: finished ones for look-ups (the history), outcomes held for
 * owners who were offline, and how many bytes each may cost, per owner and in total. Byte limits
 * count estimated heap, not JSON length (docs/ARCHITECTURE.md, "Sessions").
 *
 * @param size finished sessions kept
 * @param age how long finished sessions are kept
 * @param requestBytes longest request a session record keeps whole (UTF-8 bytes)
 * @param resultBytes longest result the history keeps whole (bytes of compact JSON)
 * @param bytesPerOwner most bytes one owner's session records keep (those dispatched over HTTP
 *     count as one owner)
 * @param bytes most bytes all session records keep (unset: an eighth of the maximum heap)
 * @param heldPerOwner most outcomes held for one owner
 * @param heldBytesPerOwner most bytes held for one owner
 * @param heldBytes most bytes held in total (unset: an eighth of the maximum heap)
 * @param heldAge how long an outcome is held (unset: {@code age})
 */
public record History(
    int size,
    Duration age,
    long requestBytes,
    long resultBytes,
    long bytesPerOwner,
    long bytes,
    int heldPerOwner,
    long heldBytesPerOwner,
    long heldBytes,
    Duration heldAge) {

  /** Checks each value against its rules in {@link Settings}. */
  public History {
    HISTORY_SIZE.check(size);
    HISTORY_AGE.check(age);
    SESSION_REQUEST_BYTES.check(requestBytes);
    SESSION_RESULT_BYTES.check(resultBytes);
    SESSION_BYTES_PER_OWNER.check(bytesPerOwner);
    SESSION_BYTES.check(bytes);
    HELD_OUTCOMES_PER_OWNER.check(heldPerOwner);
    HELD_BYTES_PER_OWNER.check(heldBytesPerOwner);
    HELD_BYTES.check(heldBytes);
    HELD_AGE.check(heldAge);
  }

  static History from(HubConfig.Builder b) {
    Duration age = b.get(HISTORY_AGE);
    Duration heldAge = b.get(HELD_AGE);
    return new History(
        b.get(HISTORY_SIZE),
        age,
        b.get(SESSION_REQUEST_BYTES),
        b.get(SESSION_RESULT_BYTES),
        b.get(SESSION_BYTES_PER_OWNER),
        heapShare(b.get(SESSION_BYTES)),
        b.get(HELD_OUTCOMES_PER_OWNER),
        b.get(HELD_BYTES_PER_OWNER),
        heapShare(b.get(HELD_BYTES)),
        heldAge == null ? age : heldAge);
  }

  /** A hub-wide byte limit as set, or, unset, an eighth of the JVM's maximum heap. */
  static long heapShare(Long set) {
    return set != null ? set : defaultShare(Runtime.getRuntime().maxMemory());
  }

  /** An eighth of {@code maxHeap}, at least 64 KiB. */
  static long defaultShare(long maxHeap) {
    return Math.max(64 * 1024, maxHeap / 8);
  }

  /** What the session table keeps of requests and results, and its byte limits. */
  public SessionBudget budget() {
    return new SessionBudget(requestBytes, resultBytes, bytesPerOwner, bytes);
  }

  /** The held-outcome store's limits. */
  public HeldOutcomes.Limits heldLimits() {
    return new HeldOutcomes.Limits(heldPerOwner, heldBytesPerOwner, heldBytes, heldAge);
  }
}
