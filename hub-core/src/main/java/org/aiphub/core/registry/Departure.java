package org.aiphub.core.registry;

import java.util.Set;

/**
 * What {@link ClientRegistry#removeClient} took out: the client's entry and the sessions that were
 * mapped to it (as owner for a constellation, as executor for a device), which the caller must now
 * end.
 *
 * @param info the removed entry
 * @param sessions the sessions unmapped from this client, in the order they were added
 */
public record Departure(ClientInfo info, Set<String> sessions) {}
