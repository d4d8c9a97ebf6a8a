package org.aiphub.core.session;

/**
 * What the {@link SessionTable} keeps of sessions, in bytes. Sessions are charged to an account:
 * their owner's, or one account for every session without an owner (those the hub dispatched over
 * HTTP). Every record the table keeps, running or finished, costs its estimated heap (its strings,
 * its request and result as kept, and the table's own bookkeeping).
 *
 * <ul>
 *   <li>A request longer than {@code requestBytes} (UTF-8) is forwarded whole to the device but
 *       kept as a {@link Truncation} marker; likewise a result whose JSON is longer than {@code
 *       resultBytes} in the history (its owner, online, gets it whole; a held outcome is kept whole
 *       by {@link HeldOutcomes}).
 *   <li>When an account would pass {@code bytesPerOwner}, or all accounts {@code bytes}, the oldest
 *       finished records of that account (or of all) leave the history first. A new session that
 *       still does not fit (running sessions alone fill the budget) is refused with {@link
 *       SessionBudgetException}.
 * </ul>
 *
 * @param requestBytes longest request kept whole, in UTF-8 bytes
 * @param resultBytes longest result kept whole in the history, in bytes of compact JSON
 * @param bytesPerOwner most bytes one account's records may keep
 * @param bytes most bytes all records may keep
 */
public record SessionBudget(long requestBytes, long resultBytes, long bytesPerOwner, long bytes) {
  /** Config key of {@link #requestBytes}. */
  public static final String REQUEST_BYTES_KEY = "session_request_bytes";

  /** Config key of {@link #resultBytes}. */
  public static final String RESULT_BYTES_KEY = "session_result_bytes";

  /** Config key of {@link #bytesPerOwner}. */
  public static final String BYTES_PER_OWNER_KEY = "session_bytes_per_owner";

  /** Config key of {@link #bytes}. */
  public static final String BYTES_KEY = "session_bytes";

  /** Nothing truncated, nothing refused: only the history's size and age limits apply. */
  public static final SessionBudget UNLIMITED =
      new SessionBudget(Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE);

  /** Requires positive limits. */
  public SessionBudget {
    if (requestBytes < 1 || resultBytes < 1 || bytesPerOwner < 1 || bytes < 1) {
      throw new IllegalArgumentException(
          "session budget limits must be positive: "
              + requestBytes
              + ", "
              + resultBytes
              + ", "
              + bytesPerOwner
              + ", "
              + bytes);
    }
  }
}
