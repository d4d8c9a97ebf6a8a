package org.aiphub.core.session;

/** A task whose session id cannot be used for a new run. */
public final class SessionConflictException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why the id is refused. */
  public enum Reason {
    /** The same owner already runs a session with this id. */
    ALREADY_RUNNING,
    /** Another owner runs a session with this id. */
    RUNNING_FOR_ANOTHER,
    /** The owner reuses an id whose previous outcome is still held for it, undelivered. */
    OUTCOME_UNDELIVERED,
    /**
     * The id's last outcome is held for another owner, who is offline: only that owner may reuse
     * it.
     */
    HELD_FOR_ANOTHER
  }

  private final Reason reason;

  /** Creates the exception; the message is safe to send to the requesting client. */
  public SessionConflictException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  /** Why the id is refused. */
  public Reason reason() {
    return reason;
  }
}
