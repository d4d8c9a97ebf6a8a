package org.aiphub.core.registry;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which sessions are mapped to which clients: per owner (constellation) and per executor (device),
 * each an immutable insertion-ordered {@link SessionIds} snapshot replaced on write
 * (copy-on-write), and a link from every session id to its two ends, so that a finished session
 * leaves both sides at once.
 *
 * <p>Reads are lock-free. Every write names the clients it touches, and the caller (the registry)
 * holds their stripes: both stripes, in index order, for a write that touches two clients.
 */
final class SessionBindings {
  private final ConcurrentHashMap<String, SessionIds> byOwner = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, SessionIds> byExecutor = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, SessionLink> links = new ConcurrentHashMap<>();

  /** The sessions mapped to an owner, in the order they were added. */
  Set<String> ofOwner(String ownerId) {
    SessionIds ids = ownerId == null ? null : byOwner.get(ownerId);
    return ids == null ? SessionIds.EMPTY : ids;
  }

  /** The sessions mapped to an executing device, in the order they were added. */
  Set<String> ofExecutor(String deviceId) {
    SessionIds ids = deviceId == null ? null : byExecutor.get(deviceId);
    return ids == null ? SessionIds.EMPTY : ids;
  }

  /** The two ends of a mapped session, or null. */
  SessionLink link(String sessionId) {
    return sessionId == null ? null : links.get(sessionId);
  }

  /** How many sessions are mapped. */
  int size() {
    return links.size();
  }

  /**
   * Maps a session to its owner, unless it already has another one. Caller holds the owner's stripe
   * and has checked that it is an online constellation.
   *
   * @return false when the session already has another owner
   */
  boolean addOwner(String ownerId, String sessionId) {
    SessionLink link =
        links.compute(
            sessionId,
            (k, l) ->
                l == null
                    ? new SessionLink(ownerId, null)
                    : l.owner() == null ? new SessionLink(ownerId, l.executor()) : l);
    if (!ownerId.equals(link.owner())) {
      return false;
    }
    byOwner.merge(ownerId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
    return true;
  }

  /**
   * Maps a session to its executor, unless it already has another one. Caller holds the device's
   * stripe and has checked that it is an online device.
   *
   * @return false when the session already has another executor
   */
  boolean addExecutor(String deviceId, String sessionId) {
    SessionLink link =
        links.compute(
            sessionId,
            (k, l) ->
                l == null
                    ? new SessionLink(null, deviceId)
                    : l.executor() == null ? new SessionLink(l.owner(), deviceId) : l);
    if (!deviceId.equals(link.executor())) {
      return false;
    }
    byExecutor.merge(deviceId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
    return true;
  }

  /**
   * Maps a new session to both ends at once. Caller holds the stripes of both and has checked the
   * clients and their limits.
   *
   * @param ownerId the owner, or null for a session the hub owns itself
   * @return false when the session id is mapped already
   */
  boolean bind(String sessionId, String ownerId, String deviceId) {
    if (links.putIfAbsent(sessionId, new SessionLink(ownerId, deviceId)) != null) {
      return false;
    }
    if (ownerId != null) {
      byOwner.merge(ownerId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
    }
    byExecutor.merge(deviceId, SessionIds.EMPTY.with(sessionId), (a, b) -> a.with(sessionId));
    return true;
  }

  /**
   * Unmaps a session from both ends, if its link is still {@code expected}. Caller holds the
   * stripes of both ends of {@code expected}.
   *
   * @return false when the link changed meanwhile (the caller retries with the current one)
   */
  boolean unbind(String sessionId, SessionLink expected) {
    if (!links.remove(sessionId, expected)) {
      return false;
    }
    if (expected.owner() != null) {
      dropFrom(byOwner, expected.owner(), sessionId);
    }
    if (expected.executor() != null) {
      dropFrom(byExecutor, expected.executor(), sessionId);
    }
    return true;
  }

  /**
   * Unmaps and returns every session of an owner; their executor side stays mapped. Caller holds
   * the owner's stripe.
   */
  Set<String> removeOwner(String ownerId) {
    SessionIds ids = byOwner.remove(ownerId);
    if (ids == null) {
      return SessionIds.EMPTY;
    }
    for (String s : ids) {
      links.computeIfPresent(s, (k, l) -> ownerId.equals(l.owner()) ? l.withoutOwner() : l);
    }
    return ids;
  }

  /**
   * Unmaps and returns every session of a device; their owner side stays mapped. Caller holds the
   * device's stripe.
   */
  Set<String> removeExecutor(String deviceId) {
    SessionIds ids = byExecutor.remove(deviceId);
    if (ids == null) {
      return SessionIds.EMPTY;
    }
    for (String s : ids) {
      links.computeIfPresent(s, (k, l) -> deviceId.equals(l.executor()) ? l.withoutExecutor() : l);
    }
    return ids;
  }

  /** The owner of a mapped session, when it has one. */
  Optional<String> owner(String sessionId) {
    SessionLink link = link(sessionId);
    return link == null ? Optional.empty() : Optional.ofNullable(link.owner());
  }

  /** The executor of a mapped session, when it has one. */
  Optional<String> executor(String sessionId) {
    SessionLink link = link(sessionId);
    return link == null ? Optional.empty() : Optional.ofNullable(link.executor());
  }

  /** The per-owner sets, for the test jar's consistency check (do not modify). */
  Map<String, SessionIds> ownerSets() {
    return byOwner;
  }

  /** The per-device sets, for the test jar's consistency check (do not modify). */
  Map<String, SessionIds> executorSets() {
    return byExecutor;
  }

  /** Every link, for the test jar's consistency check (do not modify). */
  Map<String, SessionLink> links() {
    return links;
  }

  private static void dropFrom(
      ConcurrentHashMap<String, SessionIds> sets, String clientId, String sessionId) {
    sets.computeIfPresent(
        clientId,
        (k, ids) -> {
          SessionIds next = ids.without(sessionId);
          return next.isEmpty() ? null : next;
        });
  }
}
