package org.aiphub.core.session;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.aiphub.core.json.JsonValues;

/**
 * One task run: who asked for it, which device runs it, and how it ended. Immutable; every
 * transition produces a new record.
 *
 * @param id the session id (unique among running sessions; a finished id may be used again)
 * @param run a number unique to this run, increasing with every run the table enters: it tells
 *     apart the runs of a reused id, the newest having the highest
 * @param ownerId the constellation that started it, or {@code null} when the hub itself did (HTTP
 *     dispatch)
 * @param executorId the device that runs it
 * @param taskName the task name, or {@code null}
 * @param request the request text, or {@code null}; for a record the {@link SessionTable} keeps,
 *     only its first characters when the request was longer than the table keeps whole (then {@code
 *     requestBytes} says how long it was)
 * @param state where it is in its life
 * @param createdAt when the hub accepted the task
 * @param endedAt when it reached a final state, or {@code null}
 * @param result the device's result (frozen JSON), or {@code null}
 * @param error why it failed or was cancelled, or {@code null}
 * @param held true while its outcome waits for an offline owner to come back
 * @param requestBytes 0 when {@code request} is the whole request; otherwise the length in UTF-8
 *     bytes of the request as received, of which {@code request} keeps only the beginning
 */
public record Session(
    String id,
    long run,
    String ownerId,
    String executorId,
    String taskName,
    String request,
    SessionState state,
    Instant createdAt,
    Instant endedAt,
    Object result,
    String error,
    boolean held,
    long requestBytes) {

  /** Validates required fields and freezes {@code result}. */
  public Session {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(executorId, "executorId");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(createdAt, "createdAt");
    if (requestBytes < 0) {
      throw new IllegalArgumentException("requestBytes must not be negative: " + requestBytes);
    }
    result = JsonValues.freeze(result);
  }

  /** A record whose request is whole. */
  public Session(
      String id,
      long run,
      String ownerId,
      String executorId,
      String taskName,
      String request,
      SessionState state,
      Instant createdAt,
      Instant endedAt,
      Object result,
      String error,
      boolean held) {
    this(
        id,
        run,
        ownerId,
        executorId,
        taskName,
        request,
        state,
        createdAt,
        endedAt,
        result,
        error,
        held,
        0);
  }

  /** True when {@link #request()} keeps only the beginning of a longer request. */
  public boolean requestTruncated() {
    return requestBytes > 0;
  }

  /** The key of this run in the session table's records. */
  public SessionKey key() {
    return new SessionKey(id, run);
  }

  /** True while the session has no outcome. */
  public boolean isRunning() {
    return state == SessionState.RUNNING;
  }

  /** How long it ran (until now for a running session, measured with {@code now}). */
  public Duration duration(Instant now) {
    return Duration.between(createdAt, endedAt == null ? now : endedAt);
  }

  Session finish(SessionState outcome, Instant at, Object value, String why) {
    return new Session(
        id,
        run,
        ownerId,
        executorId,
        taskName,
        request,
        outcome,
        createdAt,
        at,
        value,
        why,
        false,
        requestBytes);
  }

  Session withResult(Object value) {
    return new Session(
        id,
        run,
        ownerId,
        executorId,
        taskName,
        request,
        state,
        createdAt,
        endedAt,
        value,
        error,
        held,
        requestBytes);
  }

  Session withHeld(boolean h) {
    return new Session(
        id,
        run,
        ownerId,
        executorId,
        taskName,
        request,
        state,
        createdAt,
        endedAt,
        result,
        error,
        h,
        requestBytes);
  }
}
