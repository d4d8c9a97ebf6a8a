package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.config;
import static org.aiphub.core.registry.RegistryTestSupport.metaWith;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The folded index of client ids ({@link IdFolds}): a registration whose id collides with a
 * different online id, mirrored one or id protected by the device config is refused, in O(keys)
 * look-ups; ids leave the index with their client; two look-alikes registering at once never both
 * win, whatever stripes their ids hash to.
 */
class LookAlikeIdTest {
  private static final String TOKEN = "0".repeat(64);

  private final ManualClock clock = new ManualClock();
  private ClientRegistry registry = registry(DeviceConfig.empty(), IdFolds.CASE_INSENSITIVE);

  private ClientRegistry registry(DeviceConfig config, IdFolds folds) {
    return ClientRegistry.builder().deviceConfig(config).clock(clock).folds(folds).build();
  }

  @AfterEach
  void consistent() {
    assertThat(RegistryConsistency.check(registry)).isEmpty();
  }

  private void add(String id, FakeConnection c) throws DuplicateClientException {
    registry.addClient(id, "linux", c, ClientType.DEVICE, metaWith("gui"));
  }

  private LookAlikeClientException refused(String id, ClientType type) {
    return catchThrowableOfType(
        LookAlikeClientException.class,
        () -> registry.addClient(id, "linux", new FakeConnection(id), type, null));
  }

  @Test
  void anIdDifferingOnlyInCaseFromAnOnlineIdIsRefusedAndChangesNothing() throws Exception {
    FakeConnection live = new FakeConnection("live");
    add("Device_Windows_001", live);
    ClientInfo before = registry.getClientInfo("Device_Windows_001").orElseThrow();

    for (String lookAlike :
        List.of("device_windows_001", "DEVICE_WINDOWS_001", "dEVICE_wINDOWS_001")) {
      LookAlikeClientException e = refused(lookAlike, ClientType.DEVICE);
      assertThat(e).as(lookAlike).isNotNull();
      assertThat(e.clientId()).isEqualTo(lookAlike);
      assertThat(e.similarTo()).isEqualTo("Device_Windows_001");
      assertThat(e.reserved()).isFalse();
      assertThat(e.liveType()).isEqualTo(ClientType.DEVICE);
      assertThat(e.getMessage()).contains("too like the online client id 'Device_Windows_001'");
      // a constellation is refused alike: the id space is shared
      assertThat(refused(lookAlike, ClientType.CONSTELLATION)).isNotNull();
    }
    assertThat(registry.listClients()).containsExactly("Device_Windows_001");
    assertThat(registry.getClientInfo("Device_Windows_001")).containsSame(before);
  }

  @Test
  void theExactIdIsStillADuplicateNotALookAlike() throws Exception {
    add("d1", new FakeConnection("first"));
    DuplicateClientException e =
        catchThrowableOfType(
            DuplicateClientException.class,
            () ->
                registry.addClient(
                    "d1", "linux", new FakeConnection("x"), ClientType.DEVICE, null));
    assertThat(e).isNotInstanceOf(LookAlikeClientException.class);
    assertThat(e.getMessage()).contains("already registered");
  }

  @Test
  void aLookAlikeMayRegisterOnceTheOnlineIdHasLeft() throws Exception {
    FakeConnection first = new FakeConnection("first");
    add("Dev-A", first);
    assertThat(refused("dev-a", ClientType.DEVICE)).isNotNull();

    assertThat(registry.removeClient("Dev-A", first)).isPresent();
    add("dev-a", new FakeConnection("second"));
    assertThat(registry.listClients()).containsExactly("dev-a");
    assertThat(refused("DEV-A", ClientType.DEVICE)).isNotNull();
  }

  @Test
  void aRemovalNamingAnotherConnectionLeavesTheIndexAlone() throws Exception {
    FakeConnection first = new FakeConnection("first");
    add("Dev-A", first);
    assertThat(registry.removeClient("Dev-A", new FakeConnection("other"))).isEmpty();
    assertThat(refused("dev-a", ClientType.DEVICE)).isNotNull();
  }

  @Test
  void idsProtectedByTheDeviceConfigAreReservedEvenOffline() throws Exception {
    registry =
        registry(
            config("device_windows_001", Map.of("token_sha256", TOKEN), "plain-dev", Map.of()),
            IdFolds.CASE_INSENSITIVE);

    LookAlikeClientException e = refused("DEVICE_WINDOWS_001", ClientType.DEVICE);
    assertThat(e.similarTo()).isEqualTo("device_windows_001");
    assertThat(e.reserved()).isTrue();
    assertThat(e.liveType()).isNull();
    assertThat(e.getMessage())
        .contains("has its own credential")
        .doesNotContain("device_windows_001'");
    assertThat(refused("Device_Windows_001", ClientType.CONSTELLATION)).isNotNull();

    // the protected id itself is for the registry to add (its token is checked before)
    add("device_windows_001", new FakeConnection("real"));
    // ids without a token are not reserved while offline
    add("PLAIN-DEV", new FakeConnection("plain"));
    assertThat(registry.listClients()).containsExactlyInAnyOrder("device_windows_001", "PLAIN-DEV");
  }

  @Test
  void aReloadedConfigReservesAndReleasesIds() throws Exception {
    assertThat(registry.applyDeviceConfig(config("Guarded", Map.of("token_sha256", TOKEN))))
        .isZero();
    assertThat(refused("guarded", ClientType.DEVICE)).isNotNull();

    registry.applyDeviceConfig(config("Guarded", Map.of()));
    add("guarded", new FakeConnection("now free"));
    assertThat(registry.listClients()).containsExactly("guarded");
  }

  @Test
  void mirroredClientsOfOtherNodesAreIndexedToo() throws Exception {
    FakeConnection remote = new FakeConnection("node-b");
    ClientInfo mirrored =
        ClientInfo.mirrorOf(
            "Remote-Dev", ClientType.DEVICE, remote, "linux", Instant.EPOCH, null, 0);
    assertThat(registry.putMirrored(mirrored)).isTrue();

    LookAlikeClientException e = refused("remote-dev", ClientType.DEVICE);
    assertThat(e.similarTo()).isEqualTo("Remote-Dev");

    assertThat(registry.removeClient("Remote-Dev", remote)).isPresent();
    add("remote-dev", new FakeConnection("local"));
  }

  @Test
  void aMirroredLookAlikeFromACrossNodeRaceIsKeptAndBothStayIndexed() throws Exception {
    // Two nodes accepted two look-alikes at once: the mirror must enter the other node's client
    // (routing needs it) and keep both indexed, so a third look-alike is still refused.
    FakeConnection local = new FakeConnection("local");
    add("race-dev", local);
    FakeConnection remote = new FakeConnection("node-b");
    assertThat(
            registry.putMirrored(
                ClientInfo.mirrorOf(
                    "RACE-DEV", ClientType.DEVICE, remote, "linux", Instant.EPOCH, null, 0)))
        .isTrue();
    assertThat(refused("Race-Dev", ClientType.DEVICE)).isNotNull();
    registry.removeClient("race-dev", local);
    assertThat(refused("Race-Dev", ClientType.DEVICE).similarTo()).isEqualTo("RACE-DEV");
    registry.removeClient("RACE-DEV", remote);
    add("Race-Dev", new FakeConnection("third"));
  }

  @Test
  void foldsWithSeveralKeysRefuseACollisionOnAnyKey() throws Exception {
    // A toy rule: ids collide case-insensitively, or when they agree after dropping dashes.
    IdFolds twoKeys =
        id -> {
          String lower = id.toLowerCase(Locale.ROOT);
          String dashless = "~" + id.replace("-", "");
          return lower.equals(dashless) ? List.of(lower) : List.of(lower, dashless);
        };
    registry = registry(DeviceConfig.empty(), twoKeys);
    add("ab-c", new FakeConnection("first"));
    assertThat(refused("AB-C", ClientType.DEVICE)).isNotNull();
    assertThat(refused("abc", ClientType.DEVICE)).isNotNull();
    add("ABC", new FakeConnection("second")); // neither key is taken: "abc" vs "~ABC"
  }

  @Test
  void twoLookAlikesRegisteringAtOnceNeverBothWin() throws Exception {
    // Pairs whose ids sit on different id stripes: without the fold key as a lock both could pass
    // the check before either is indexed.
    List<String[]> pairs = new ArrayList<>();
    for (int i = 0; pairs.size() < 50; i++) {
      String a = "Race-" + i;
      String b = "race-" + i;
      if (stripe(a) != stripe(b)) {
        pairs.add(new String[] {a, b});
      }
    }
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 20; round++) {
        registry = registry(DeviceConfig.empty(), IdFolds.CASE_INSENSITIVE);
        for (String[] pair : pairs) {
          CyclicBarrier start = new CyclicBarrier(2);
          AtomicInteger wins = new AtomicInteger();
          List<Future<?>> runs = new ArrayList<>();
          for (String id : pair) {
            runs.add(
                pool.submit(
                    () -> {
                      start.await(5, TimeUnit.SECONDS);
                      try {
                        add(id, new FakeConnection(id));
                        wins.incrementAndGet();
                      } catch (LookAlikeClientException e) {
                        // the other one won
                      }
                      return null;
                    }));
          }
          for (Future<?> f : runs) {
            f.get(10, TimeUnit.SECONDS);
          }
          assertThat(wins.get()).as("%s vs %s", pair[0], pair[1]).isEqualTo(1);
          assertThat(registry.listClients().stream().filter(id -> id.equalsIgnoreCase(pair[0])))
              .as("%s vs %s", pair[0], pair[1])
              .hasSize(1);
        }
        assertThat(RegistryConsistency.check(registry)).isEmpty();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static int stripe(String id) {
    int h = id.hashCode();
    return (h ^ (h >>> 16)) & 127;
  }
}
