package org.aiphub.server.route;

import org.aiphub.core.registry.ClientInfo;

/** What became of a {@code register} frame ({@link TaskRouter#register}). */
public sealed interface Registration
    permits Registration.Registered, Registration.Refused, Registration.Contested {

  /**
   * The client is registered; the reply went out.
   *
   * @param identity the identity now bound to the connection
   */
  record Registered(Identity identity) implements Registration {}

  /**
   * The registration failed; the error frame went out and the caller closes the connection.
   *
   * @param reason the error text sent to the client
   * @param outcome a short label for metrics, e.g. {@code duplicate}
   */
  record Refused(String reason, String outcome) implements Registration {}

  /**
   * The id is held by a live entry under the reject policy, and the caller asked to check first
   * whether that holder is really alive: nothing was sent yet. Probe {@code holder}, then call
   * {@link TaskRouter#refuseDuplicate} (it answered) or {@link TaskRouter#replaceDead} and register
   * again (it did not).
   *
   * @param holder the entry holding the id
   * @param reason the refusal text, should the holder prove alive
   */
  record Contested(ClientInfo holder, String reason) implements Registration {}
}
