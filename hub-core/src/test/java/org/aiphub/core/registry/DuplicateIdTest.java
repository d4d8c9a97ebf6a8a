package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.metaWith;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.Test;

/** Duplicate client ids under both policies, and the takeover race. */
class DuplicateIdTest {
  private final ManualClock clock = new ManualClock();

  private ClientRegistry registry(DuplicatePolicy policy) {
    return ClientRegistry.builder().policy(policy).clock(clock).build();
  }

  // ------------------------------------------------------------------------------------ REJECT

  @Test
  void rejectThrowsAndLeavesTheLiveEntryUntouched() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.REJECT);
    FakeConnection first = new FakeConnection("first");
    r.addClient("d1", "linux", first, ClientType.DEVICE, metaWith("gui"));
    r.addClient("k1", "linux", new FakeConnection("k"), ClientType.CONSTELLATION, null);
    r.bindSession("s1", "k1", "d1");
    ClientInfo live = r.getClientInfo("d1").orElseThrow();
    clock.advance(Duration.ofSeconds(5));

    FakeConnection second = new FakeConnection("second");
    DuplicateClientException e =
        catchThrowableOfType(
            DuplicateClientException.class,
            () -> r.addClient("d1", "windows", second, ClientType.DEVICE, metaWith("office")));

    assertThat(e.clientId()).isEqualTo("d1");
    assertThat(e.liveType()).isEqualTo(ClientType.DEVICE);
    assertThat(e.getMessage()).contains("'d1'").contains("already registered");
    assertThat(r.getClientInfo("d1")).containsSame(live);
    assertThat(r.getClient("d1")).containsSame(first);
    assertThat(r.getDevicesByPlatform("linux")).containsExactly("d1");
    assertThat(r.getDevicesByPlatform("windows")).isEmpty();
    assertThat(r.findDevicesWithCapability("gui")).containsExactly("d1");
    assertThat(r.findDevicesWithCapability("office")).isEmpty();
    assertThat(r.getDeviceSessions("d1")).containsExactly("s1");
    assertThat(r.getStats().total()).isEqualTo(2);
    assertThat(r.getRecentlyConnected(Duration.ofSeconds(1))).isEmpty();
    assertThat(second.closes()).isEmpty();
    assertThat(first.closes()).isEmpty();
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  @Test
  void rejectAlsoRefusesAnotherTypeAndTheSameConnection() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.REJECT);
    FakeConnection c = new FakeConnection("c");
    r.addClient("x", "linux", c, ClientType.CONSTELLATION, null);
    ClientInfo live = r.getClientInfo("x").orElseThrow();

    DuplicateClientException e =
        catchThrowableOfType(
            DuplicateClientException.class,
            () -> r.addClient("x", "linux", new FakeConnection("d"), ClientType.DEVICE, null));
    assertThat(e.liveType()).isEqualTo(ClientType.CONSTELLATION);
    assertThatThrownBy(() -> r.addClient("x", "linux", c, ClientType.CONSTELLATION, null))
        .isInstanceOf(DuplicateClientException.class);

    assertThat(r.getClientInfo("x")).containsSame(live);
    assertThat(r.listClientsByType(ClientType.DEVICE)).isEmpty();
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  @Test
  void anIdCanBeRegisteredAgainOnceTheOldEntryIsRemoved() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.REJECT);
    FakeConnection first = new FakeConnection("first");
    r.addClient("x", "linux", first, ClientType.DEVICE, null);
    r.removeClient("x", first);
    FakeConnection second = new FakeConnection("second");
    assertThat(r.addClient("x", "linux", second, ClientType.CONSTELLATION, null)).isEmpty();
    assertThat(r.getClientType("x")).contains(ClientType.CONSTELLATION);
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  // ---------------------------------------------------------------------------------- TAKEOVER

  @Test
  void takeoverReturnsTheDisplacedEntryAndKeepsTheSessions() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.TAKEOVER);
    FakeConnection oldDevice = new FakeConnection("old-d");
    FakeConnection oldOwner = new FakeConnection("old-k");
    r.addClient("d1", "Linux", oldDevice, ClientType.DEVICE, metaWith("gui"));
    r.addClient("k1", "linux", oldOwner, ClientType.CONSTELLATION, null);
    r.bindSession("s1", "k1", "d1");
    r.bindSession("s2", "k1", "d1");
    ClientInfo oldDeviceInfo = r.getClientInfo("d1").orElseThrow();
    ClientInfo oldOwnerInfo = r.getClientInfo("k1").orElseThrow();
    clock.advance(Duration.ofMinutes(1));

    FakeConnection newDevice = new FakeConnection("new-d");
    FakeConnection newOwner = new FakeConnection("new-k");
    Optional<ClientInfo> displacedDevice =
        r.addClient("d1", "windows", newDevice, ClientType.DEVICE, metaWith("office"));
    Optional<ClientInfo> displacedOwner =
        r.addClient("k1", "linux", newOwner, ClientType.CONSTELLATION, null);

    assertThat(displacedDevice).containsSame(oldDeviceInfo);
    assertThat(displacedOwner).containsSame(oldOwnerInfo);
    assertThat(r.getClient("d1")).containsSame(newDevice);
    assertThat(r.getClient("k1")).containsSame(newOwner);
    assertThat(r.getClientInfo("d1").orElseThrow().connectedAt()).isEqualTo(clock.instant());
    assertThat(r.getDeviceSessions("d1")).containsExactly("s1", "s2");
    assertThat(r.getConstellationSessions("k1")).containsExactly("s1", "s2");
    // the indexes follow the newcomer
    assertThat(r.getDevicesByPlatform("linux")).isEmpty();
    assertThat(r.getDevicesByPlatform("windows")).containsExactly("d1");
    assertThat(r.findDevicesWithCapability("gui")).isEmpty();
    assertThat(r.findDevicesWithCapability("office")).containsExactly("d1");
    assertThat(r.getStats()).isEqualTo(new RegistryStats(2, 1, 1, Map.of("windows", 1), 2));
    assertThat(r.getRecentlyConnected(Duration.ofSeconds(1))).containsExactly("d1", "k1");
    // the registry does no I/O: closing the displaced connection is the caller's job
    assertThat(oldDevice.closes()).isEmpty();
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  @Test
  void takeoverByAnotherClientTypeIsRefused() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.TAKEOVER);
    FakeConnection device = new FakeConnection("d");
    r.addClient("x", "linux", device, ClientType.DEVICE, metaWith("gui"));
    r.addDeviceSession("x", "s1");
    ClientInfo live = r.getClientInfo("x").orElseThrow();

    DuplicateClientException e =
        catchThrowableOfType(
            DuplicateClientException.class,
            () ->
                r.addClient("x", "linux", new FakeConnection("k"), ClientType.CONSTELLATION, null));

    assertThat(e.clientId()).isEqualTo("x");
    assertThat(e.liveType()).isEqualTo(ClientType.DEVICE);
    assertThat(e.getMessage()).contains("device").contains("constellation");
    assertThat(r.getClientInfo("x")).containsSame(live);
    assertThat(r.getDeviceSessions("x")).containsExactly("s1");
    assertThat(r.listClientsByType(ClientType.CONSTELLATION)).isEmpty();
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  @Test
  void takeoverByTheSameConnectionIsADuplicate() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.TAKEOVER);
    FakeConnection c = new FakeConnection("c");
    r.addClient("d1", "linux", c, ClientType.DEVICE, null);
    ClientInfo live = r.getClientInfo("d1").orElseThrow();
    assertThatThrownBy(() -> r.addClient("d1", "linux", c, ClientType.DEVICE, null))
        .isInstanceOf(DuplicateClientException.class);
    assertThat(r.getClientInfo("d1")).containsSame(live);
  }

  @Test
  void aStaleCleanupAfterATakeoverRemovesNothing() throws Exception {
    ClientRegistry r = registry(DuplicatePolicy.TAKEOVER);
    FakeConnection old = new FakeConnection("old");
    r.addClient("d1", "linux", old, ClientType.DEVICE, metaWith("gui"));
    r.addClient("k1", "linux", new FakeConnection("k"), ClientType.CONSTELLATION, null);
    r.bindSession("s1", "k1", "d1");
    FakeConnection successor = new FakeConnection("new");
    r.addClient("d1", "linux", successor, ClientType.DEVICE, metaWith("gui"));
    ClientInfo live = r.getClientInfo("d1").orElseThrow();

    // the old connection's close future fires late
    assertThat(r.removeClient("d1", old)).isEmpty();
    assertThat(r.updateDeviceSystemInfo("d1", old, Map.of())).isFalse();

    assertThat(r.getClientInfo("d1")).containsSame(live);
    assertThat(r.getDeviceSessions("d1")).containsExactly("s1");
    assertThat(r.getSessionExecutor("s1")).contains("d1");
    assertThat(r.findDevicesWithCapability("gui")).containsExactly("d1");
    assertThat(RegistryConsistency.check(r)).isEmpty();

    // the successor's own cleanup works
    Departure gone = r.removeClient("d1", successor).orElseThrow();
    assertThat(gone.info()).isSameAs(live);
    assertThat(gone.sessions()).containsExactly("s1");
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  /**
   * The race the rule exists for: the old connection's cleanup and the new registration run at the
   * same time, many times. Whatever the interleaving, the newcomer ends up online with the sessions
   * it should have, and exactly one of the two calls saw the old entry.
   */
  @Test
  void oldCleanupRacingANewRegistrationNeverRemovesTheNewHolder() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      int cleanupFirst = 0;
      int takeoverFirst = 0;
      for (int i = 0; i < 2_000; i++) {
        ClientRegistry r = registry(DuplicatePolicy.TAKEOVER);
        FakeConnection old = new FakeConnection("old" + i);
        FakeConnection fresh = new FakeConnection("new" + i);
        r.addClient("d", "linux", old, ClientType.DEVICE, metaWith("gui"));
        r.addClient("k", "linux", new FakeConnection("k"), ClientType.CONSTELLATION, null);
        r.bindSession("s", "k", "d");
        ClientInfo oldInfo = r.getClientInfo("d").orElseThrow();

        CyclicBarrier start = new CyclicBarrier(2);
        Callable<Optional<Departure>> cleanup =
            () -> {
              start.await();
              return r.removeClient("d", old);
            };
        Callable<Optional<ClientInfo>> register =
            () -> {
              start.await();
              return r.addClient("d", "linux", fresh, ClientType.DEVICE, metaWith("gui", "cli"));
            };
        Future<Optional<Departure>> removed = pool.submit(cleanup);
        Future<Optional<ClientInfo>> displaced = pool.submit(register);
        Optional<Departure> departure = removed.get(10, TimeUnit.SECONDS);
        Optional<ClientInfo> replaced = displaced.get(10, TimeUnit.SECONDS);

        assertThat(r.getClient("d")).containsSame(fresh);
        assertThat(r.findDevicesWithCapability("cli")).containsExactly("d");
        assertThat(RegistryConsistency.check(r)).isEmpty();
        if (departure.isPresent()) {
          // cleanup ran first: it took the old entry and its session; the newcomer started clean
          cleanupFirst++;
          assertThat(replaced).isEmpty();
          assertThat(departure.get().info()).isSameAs(oldInfo);
          assertThat(departure.get().sessions()).containsExactly("s");
          assertThat(r.getDeviceSessions("d")).isEmpty();
        } else {
          // takeover ran first: the stale cleanup was a no-op and the newcomer kept the session
          takeoverFirst++;
          assertThat(replaced).containsSame(oldInfo);
          assertThat(r.getDeviceSessions("d")).containsExactly("s");
          assertThat(r.getSessionExecutor("s")).contains("d");
        }
        assertThat(r.getConstellationSessions("k")).containsExactly("s");
      }
      assertThat(cleanupFirst + takeoverFirst).isEqualTo(2_000);
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  // ------------------------------------------------------------------------------------ policy

  @Test
  void policyWireSpellings() {
    assertThat(DuplicatePolicy.REJECT.wire()).isEqualTo("reject");
    assertThat(DuplicatePolicy.TAKEOVER.wire()).isEqualTo("takeover");
    assertThat(DuplicatePolicy.fromWire("Takeover")).isEqualTo(DuplicatePolicy.TAKEOVER);
    assertThat(DuplicatePolicy.fromWire("REJECT")).isEqualTo(DuplicatePolicy.REJECT);
    assertThat(DuplicatePolicy.fromWire("replace")).isNull();
    assertThat(DuplicatePolicy.fromWire(null)).isNull();
    assertThat(List.of(DuplicatePolicy.values()))
        .containsExactly(DuplicatePolicy.REJECT, DuplicatePolicy.TAKEOVER);
  }
}
