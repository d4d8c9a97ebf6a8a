package org.aiphub.core.session;

/**
 * A running session just entered in the {@link SessionTable}, to hand back to {@link
 * SessionTable#abort} should its dispatch be refused.
 *
 * @param session the new running session, as the table keeps it (its request may be truncated: send
 *     the device the request as received)
 * @param previousDispatch for a session dispatched over HTTP, the run its task name answered for
 *     before this one (restored if this one is aborted), else {@code null}
 */
public record Reservation(Session session, SessionKey previousDispatch) {
  /** A reservation that replaced no dispatch. */
  public Reservation(Session session) {
    this(session, null);
  }
}
