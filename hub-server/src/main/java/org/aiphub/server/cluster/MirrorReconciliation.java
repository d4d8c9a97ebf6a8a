package org.aiphub.server.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * How a node's mirror of the other nodes' clients must change to agree with Redis: the repair for
 * pub/sub events it never got (a {@code leave} published while it was cut off, or while Redis was
 * down and lost everything). Pure: the caller reads Redis, hands the snapshot in and applies the
 * plan on its cluster thread, in order with the events.
 *
 * <p>The snapshot ({@code hub:client-node}) is read after every event this node has applied, so an
 * entry mirrored from a description is in it unless released or taken over since. An entry the
 * snapshot names another holder for (or this node) is wrong. An entry missing from it is wrong only
 * if its node is <em>settled</em> (its lease and its synced marker name the same epoch): a node
 * that is not is still announcing its clients after an outage, and a node without a lease is left
 * to the reaping, which ends its entries with it. One kind of entry may be ahead of Redis: one
 * learned from a task before its owner's {@code join} ({@code provisional}); it is dropped only
 * when found wrong by two reconciliations in a row.
 */
final class MirrorReconciliation {
  /**
   * What to change.
   *
   * @param drop mirrored entries Redis no longer lists under their node
   * @param add ids Redis lists under a live peer that the mirror lacks (after the drops)
   * @param suspects provisional entries found wrong this time: dropped if found wrong next time
   */
  record Plan(List<RemoteConnection> drop, List<String> add, Set<RemoteConnection> suspects) {}

  private MirrorReconciliation() {}

  /**
   * Plans the changes.
   *
   * @param self this node's id (its own clients are never mirrored)
   * @param owners the snapshot: client id to the {@code node:epoch} holding it
   * @param alive peers holding a lease
   * @param settled live peers done announcing their clients
   * @param mirror this node's mirror: node to client id to entry
   * @param provisional entries learned from a task, not yet described by their node
   * @param suspects what the previous plan named as suspects
   * @param heldHere whether this node holds an id's socket itself (left to the claims in Redis)
   */
  static Plan plan(
      String self,
      Map<String, String> owners,
      Set<String> alive,
      Set<String> settled,
      Map<String, Map<String, RemoteConnection>> mirror,
      Set<RemoteConnection> provisional,
      Set<RemoteConnection> suspects,
      Predicate<String> heldHere) {
    List<RemoteConnection> drop = new ArrayList<>();
    Set<RemoteConnection> nextSuspects = new HashSet<>();
    Set<String> kept = new HashSet<>();
    for (Map.Entry<String, Map<String, RemoteConnection>> byNode : mirror.entrySet()) {
      String node = byNode.getKey();
      for (RemoteConnection rc : byNode.getValue().values()) {
        String holder = ClusterNode.nodeOf(owners.get(rc.clientId()));
        boolean wrong = holder == null ? settled.contains(node) : !holder.equals(node);
        if (!wrong) {
          kept.add(rc.clientId());
        } else if (!provisional.contains(rc) || suspects.contains(rc)) {
          drop.add(rc);
        } else {
          nextSuspects.add(rc);
          kept.add(rc.clientId());
        }
      }
    }
    List<String> add = new ArrayList<>();
    for (Map.Entry<String, String> e : owners.entrySet()) {
      String id = e.getKey();
      String holder = ClusterNode.nodeOf(e.getValue());
      if (holder != null
          && !holder.equals(self)
          && alive.contains(holder)
          && !kept.contains(id)
          && !heldHere.test(id)) {
        add.add(id);
      }
    }
    return new Plan(drop, add, nextSuspects);
  }
}
