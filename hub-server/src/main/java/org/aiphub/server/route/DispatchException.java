package org.aiphub.server.route;

/** An HTTP dispatch the router refused; the message is safe to return to the caller. */
public final class DispatchException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why the task was not dispatched. */
  public enum Reason {
    /** The client is not an online device. */
    DEVICE_NOT_FOUND,
    /** The device already runs its {@code max_concurrent_tasks}. */
    DEVICE_BUSY
  }

  private final Reason reason;

  /** Creates the exception. */
  public DispatchException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  /** Why the task was not dispatched. */
  public Reason reason() {
    return reason;
  }
}
