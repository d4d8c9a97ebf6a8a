package org.aiphub.core.session;

/**
 * A running session just entered in the {@link SessionTable}, to hand back to {@link
 * SessionTable#abort} should its dispatch be refused.
 *
 * @param session the new running session
 */
public record Reservation(Session session) {}
