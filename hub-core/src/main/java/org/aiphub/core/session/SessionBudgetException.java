package org.aiphub.core.session;

/** A new session the table cannot keep: its account (or the hub) keeps all it may already. */
public final class SessionBudgetException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String limit;

  /** Creates the exception; the message is safe to send to the requesting client. */
  public SessionBudgetException(String limit, String message) {
    super(message, null, false, false);
    this.limit = limit;
  }

  /**
   * The config key of the limit: {@link SessionBudget#BYTES_PER_OWNER_KEY} or {@link
   * SessionBudget#BYTES_KEY}.
   */
  public String limit() {
    return limit;
  }
}
