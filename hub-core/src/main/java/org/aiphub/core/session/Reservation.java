package org.aiphub.core.session;

/**
 * A running session just entered in the {@link SessionTable}, with the finished record of the same
 * id it replaced (when the owner reuses an id), so {@link SessionTable#abort} can put the table
 * back exactly as it was.
 *
 * @param session the new running session
 * @param previous the record it replaced, or {@code null}
 */
public record Reservation(Session session, Session previous) {}
