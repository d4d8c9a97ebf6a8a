package org.aiphub.core.session;

/**
 * Session counters since start-up.
 *
 * @param running sessions without an outcome now
 * @param completed sessions that ended {@code completed}
 * @param failed sessions that ended {@code failed}
 * @param cancelled sessions that ended {@code cancelled}
 * @param held finished sessions whose outcome waits for an offline owner
 */
public record SessionCounts(long running, long completed, long failed, long cancelled, long held) {}
