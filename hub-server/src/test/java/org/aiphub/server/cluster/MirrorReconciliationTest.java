package org.aiphub.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.aiphub.core.aip.ClientType;
import org.junit.jupiter.api.Test;

/** What {@link MirrorReconciliation} drops, keeps and adds, case by case. */
class MirrorReconciliationTest {
  private static final String SELF = "me";

  private final Map<String, Map<String, RemoteConnection>> mirror = new HashMap<>();
  private final Map<String, String> owners = new HashMap<>();

  private RemoteConnection mirrored(String node, String id) {
    RemoteConnection rc = new RemoteConnection(null, node, id, ClientType.DEVICE);
    mirror.computeIfAbsent(node, n -> new HashMap<>()).put(id, rc);
    return rc;
  }

  private void inRedis(String id, String node) {
    owners.put(id, node + ":epoch-" + node);
  }

  private MirrorReconciliation.Plan plan(
      Set<String> alive, Set<String> settled, Set<RemoteConnection> provisional) {
    return plan(alive, settled, provisional, Set.of(), Set.of());
  }

  private MirrorReconciliation.Plan plan(
      Set<String> alive,
      Set<String> settled,
      Set<RemoteConnection> provisional,
      Set<RemoteConnection> suspects,
      Set<String> local) {
    return MirrorReconciliation.plan(
        SELF, owners, alive, settled, mirror, provisional, suspects, local::contains);
  }

  @Test
  void anEntryRedisStillListsUnderItsNodeIsKept() {
    mirrored("a", "d1");
    inRedis("d1", "a");
    MirrorReconciliation.Plan p = plan(Set.of("a"), Set.of("a"), Set.of());
    assertThat(p.drop()).isEmpty();
    assertThat(p.add()).isEmpty();
  }

  @Test
  void anEntryMissingFromRedisIsDroppedWhenItsNodeIsSettled() {
    RemoteConnection gone = mirrored("a", "d1");
    MirrorReconciliation.Plan p = plan(Set.of("a"), Set.of("a"), Set.of());
    assertThat(p.drop()).containsExactly(gone);
  }

  @Test
  void anEntryMissingFromRedisIsKeptWhileItsNodeIsStillAnnouncing() {
    mirrored("a", "d1");
    assertThat(plan(Set.of("a"), Set.of(), Set.of()).drop()).isEmpty();
  }

  @Test
  void anEntryMissingFromRedisIsLeftToTheReapingWhenItsNodeHasNoLease() {
    mirrored("a", "d1");
    assertThat(plan(Set.of(), Set.of(), Set.of()).drop()).isEmpty();
  }

  @Test
  void anEntryRedisListsUnderAnotherNodeMovesThere() {
    RemoteConnection old = mirrored("a", "d1");
    inRedis("d1", "b");
    MirrorReconciliation.Plan p = plan(Set.of("a", "b"), Set.of(), Set.of());
    assertThat(p.drop()).containsExactly(old);
    assertThat(p.add()).containsExactly("d1");
  }

  @Test
  void anEntryRedisListsUnderThisNodeIsDroppedAndNotAdded() {
    RemoteConnection old = mirrored("a", "d1");
    inRedis("d1", SELF);
    MirrorReconciliation.Plan p = plan(Set.of("a"), Set.of("a"), Set.of());
    assertThat(p.drop()).containsExactly(old);
    assertThat(p.add()).isEmpty();
  }

  @Test
  void aClientOfALivePeerMissingHereIsAddedUnlessThisNodeHoldsItsSocket() {
    inRedis("d1", "a");
    inRedis("d2", "a");
    inRedis("d3", "dead");
    MirrorReconciliation.Plan p = plan(Set.of("a"), Set.of("a"), Set.of(), Set.of(), Set.of("d2"));
    assertThat(p.add()).containsExactly("d1");
  }

  @Test
  void aProvisionalEntryIsDroppedOnlyWhenFoundWrongTwiceInARow() {
    RemoteConnection early = mirrored("a", "g1");
    inRedis("g1", "b");
    Set<RemoteConnection> provisional = Set.of(early);

    MirrorReconciliation.Plan first = plan(Set.of("a", "b"), Set.of("a", "b"), provisional);
    assertThat(first.drop()).isEmpty();
    assertThat(first.add()).as("not while the early entry stands").isEmpty();
    assertThat(first.suspects()).containsExactly(early);

    MirrorReconciliation.Plan second =
        plan(Set.of("a", "b"), Set.of("a", "b"), provisional, first.suspects(), Set.of());
    assertThat(second.drop()).containsExactly(early);
    assertThat(second.add()).containsExactly("g1");
    assertThat(second.suspects()).isEmpty();
  }

  @Test
  void aProvisionalEntryThatRedisCaughtUpWithIsNoLongerSuspect() {
    RemoteConnection early = mirrored("a", "g1");
    Set<RemoteConnection> provisional = Set.of(early);
    MirrorReconciliation.Plan first = plan(Set.of("a"), Set.of("a"), provisional);
    assertThat(first.suspects()).containsExactly(early);

    inRedis("g1", "a");
    MirrorReconciliation.Plan second =
        plan(Set.of("a"), Set.of("a"), provisional, first.suspects(), Set.of());
    assertThat(second.drop()).isEmpty();
    assertThat(second.suspects()).isEmpty();
  }
}
