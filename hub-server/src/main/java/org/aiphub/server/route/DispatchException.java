package org.aiphub.server.route;

/** An HTTP dispatch the router refused; the message is safe to return to the caller. */
public final class DispatchException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why the task was not dispatched. */
  public enum Reason {
    /** The client is not an online device. */
    DEVICE_NOT_FOUND(404),
    /** The device already runs its {@code max_concurrent_tasks}. */
    DEVICE_BUSY(429),
    /**
     * The sessions dispatched over HTTP (or all sessions) already keep all the bytes they may
     * ({@code session_bytes_per_owner}, {@code session_bytes}).
     */
    OVER_LIMIT(429),
    /**
     * The hub cannot take work now: it is shutting down, or the device sits on another node that
     * cannot be reached while the cluster backplane is down.
     */
    UNAVAILABLE(503);

    private final int httpStatus;

    Reason(int httpStatus) {
      this.httpStatus = httpStatus;
    }

    /** The HTTP status that answers a dispatch refused for this reason. */
    public int httpStatus() {
      return httpStatus;
    }
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
