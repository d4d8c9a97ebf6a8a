package org.aiphub.core.registry;

/**
 * The two ends of a mapped session: the owning constellation and the executing device. Either side
 * becomes null once that client has left and its mapping was dropped.
 */
record SessionLink(String owner, String executor) {
  SessionLink withoutOwner() {
    return executor == null ? null : new SessionLink(null, executor);
  }

  SessionLink withoutExecutor() {
    return owner == null ? null : new SessionLink(owner, null);
  }
}
