package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.config;
import static org.aiphub.core.registry.RegistryTestSupport.meta;
import static org.aiphub.core.registry.RegistryTestSupport.metaWith;
import static org.aiphub.core.registry.RegistryTestSupport.systemInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One test (or more) per public method of {@link ClientRegistry}, outside of selection. */
class ClientRegistryTest {
  private final ManualClock clock = new ManualClock();
  private final ClientRegistry registry = ClientRegistry.builder().clock(clock).build();

  @AfterEach
  void indexesStayConsistent() {
    assertThat(RegistryConsistency.check(registry)).isEmpty();
  }

  private FakeConnection device(String id, String platform, String... features) throws Exception {
    FakeConnection c = new FakeConnection("conn-" + id);
    registry.addClient(id, platform, c, ClientType.DEVICE, metaWith(features));
    return c;
  }

  private FakeConnection constellation(String id) throws Exception {
    FakeConnection c = new FakeConnection("conn-" + id);
    registry.addClient(id, "windows", c, ClientType.CONSTELLATION, Map.of("version", "2.0"));
    return c;
  }

  // ---------------------------------------------------------------------------- construction

  @Test
  void defaultConstructorRejectsDuplicatesAndHasNoDeviceConfig() {
    ClientRegistry r = ClientRegistry.builder().build();
    assertThat(r.policy()).isEqualTo(DuplicatePolicy.REJECT);
    assertThat(r.deviceConfig().devices()).isEmpty();
    assertThat(r.listClients()).isEmpty();
  }

  @Test
  void builderKeepsItsSettingsAndValidatesThem() {
    DeviceConfig cfg = config("d1", Map.of("tier", "gold"));
    ClientRegistry r =
        ClientRegistry.builder()
            .policy(DuplicatePolicy.TAKEOVER)
            .deviceConfig(cfg)
            .defaultMaxConcurrentTasks(3)
            .clock(clock)
            .build();
    assertThat(r.policy()).isEqualTo(DuplicatePolicy.TAKEOVER);
    assertThat(r.deviceConfig()).isSameAs(cfg);
    assertThatThrownBy(
            () ->
                ClientRegistry.builder()
                    .deviceConfig(cfg)
                    .defaultMaxConcurrentTasks(-1)
                    .clock(clock)
                    .build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> ClientRegistry.builder().policy(null).deviceConfig(cfg).clock(clock).build())
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> ClientRegistry.builder().deviceConfig(null).clock(clock).build())
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> ClientRegistry.builder().deviceConfig(cfg).clock(null).build())
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> ClientRegistry.builder().maxSessionsPerOwner(-1).build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ClientRegistry.builder().selector(null).build())
        .isInstanceOf(NullPointerException.class);
  }

  // --------------------------------------------------------------------------------- clients

  @Test
  void addClientRecordsEverythingAboutADevice() throws Exception {
    FakeConnection c = new FakeConnection("c1");
    Map<String, Object> metadata = new LinkedHashMap<>(metaWith("gui", "cli"));
    metadata.put("platform", "linux");

    assertThat(registry.addClient("d1", "linux", c, ClientType.DEVICE, metadata)).isEmpty();
    metadata.put("later", "change"); // the registry keeps a frozen copy

    ClientInfo info = registry.getClientInfo("d1").orElseThrow();
    assertThat(info.clientId()).isEqualTo("d1");
    assertThat(info.clientType()).isEqualTo(ClientType.DEVICE);
    assertThat(info.isDevice()).isTrue();
    assertThat(info.connection()).isSameAs(c);
    assertThat(info.platform()).isEqualTo("linux");
    assertThat(info.connectedAt()).isEqualTo(clock.instant());
    assertThat(info.metadata()).containsOnlyKeys("system_info", "platform");
    assertThat(info.reportedSystemInfo()).isEqualTo(systemInfo("gui", "cli"));
    assertThat(info.systemInfo()).isEqualTo(systemInfo("gui", "cli"));
    assertThat(info.features()).containsExactly("gui", "cli");
    assertThat(info.maxConcurrentTasks()).isZero();
    assertThatThrownBy(() -> info.metadata().put("x", 1))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void addClientDefaultsTheNullPlatformToWindows() throws Exception {
    registry.addClient("d1", null, new FakeConnection("c1"), ClientType.DEVICE, null);
    registry.addClient("k1", null, new FakeConnection("c2"), ClientType.CONSTELLATION, null);

    assertThat(ClientRegistry.DEFAULT_PLATFORM).isEqualTo("windows");
    assertThat(registry.getClientInfo("d1").orElseThrow().platform()).isEqualTo("windows");
    assertThat(registry.getClientInfo("k1").orElseThrow().platform()).isEqualTo("windows");
    assertThat(registry.getDevicesByPlatform("windows")).containsExactly("d1");
    assertThat(registry.getStats().devicesByPlatform()).isEqualTo(Map.of("windows", 1));
  }

  @Test
  void addClientWithoutMetadataGivesEmptyMetadataAndNoSystemInfo() throws Exception {
    registry.addClient("d1", "linux", new FakeConnection("c1"), ClientType.DEVICE, null);
    ClientInfo info = registry.getClientInfo("d1").orElseThrow();
    assertThat(info.metadata()).isEmpty();
    assertThat(info.reportedSystemInfo()).isNull();
    assertThat(info.systemInfo()).isNull();
    assertThat(info.features()).isEmpty();
    assertThat(info.tags()).isEmpty();
  }

  @Test
  void aSystemInfoThatIsNotAnObjectCountsAsAbsent() throws Exception {
    registry.addClient(
        "d1", "linux", new FakeConnection("c1"), ClientType.DEVICE, Map.of("system_info", "gui"));
    assertThat(registry.getClientInfo("d1").orElseThrow().systemInfo()).isNull();
    assertThat(registry.getDeviceSystemInfo("d1")).isEmpty();
  }

  @Test
  void aConstellationNeverGetsSystemInfo() throws Exception {
    FakeConnection c = new FakeConnection("c1");
    registry.addClient("k1", "windows", c, ClientType.CONSTELLATION, metaWith("gui"));
    ClientInfo info = registry.getClientInfo("k1").orElseThrow();
    assertThat(info.isDevice()).isFalse();
    assertThat(info.reportedSystemInfo()).isNull();
    assertThat(info.systemInfo()).isNull();
    assertThat(info.metadata()).containsKey("system_info"); // metadata itself is kept as sent
    assertThat(registry.findDevicesWithCapability("gui")).isEmpty();
  }

  @Test
  void addClientRejectsMissingArguments() {
    FakeConnection c = new FakeConnection("c1");
    assertThatThrownBy(() -> registry.addClient(null, "linux", c, ClientType.DEVICE, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> registry.addClient("", "linux", c, ClientType.DEVICE, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> registry.addClient("d1", "linux", null, ClientType.DEVICE, null))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> registry.addClient("d1", "linux", c, null, null))
        .isInstanceOf(NullPointerException.class);
    assertThat(registry.listClients()).isEmpty();
  }

  @Test
  void getClientReturnsTheLiveConnection() throws Exception {
    FakeConnection c = device("d1", "linux");
    assertThat(registry.getClient("d1")).containsSame(c);
    assertThat(registry.getClient("nobody")).isEmpty();
    assertThat(registry.getClient(null)).isEmpty();
  }

  @Test
  void getClientInfoIsEmptyForUnknownIds() throws Exception {
    device("d1", "linux");
    assertThat(registry.getClientInfo("d1")).isPresent();
    assertThat(registry.getClientInfo("d2")).isEmpty();
    assertThat(registry.getClientInfo(null)).isEmpty();
  }

  @Test
  void getClientTypeTellsDevicesFromConstellations() throws Exception {
    device("d1", "linux");
    constellation("k1");
    assertThat(registry.getClientType("d1")).contains(ClientType.DEVICE);
    assertThat(registry.getClientType("k1")).contains(ClientType.CONSTELLATION);
    assertThat(registry.getClientType("x")).isEmpty();
    assertThat(registry.getClientType(null)).isEmpty();
  }

  @Test
  void listClientsAndListClientsByTypeAreSnapshots() throws Exception {
    device("d1", "linux");
    device("d2", "windows");
    constellation("k1");

    List<String> all = registry.listClients();
    List<String> devices = registry.listClientsByType(ClientType.DEVICE);
    List<String> constellations = registry.listClientsByType(ClientType.CONSTELLATION);
    assertThat(all).containsExactlyInAnyOrder("d1", "d2", "k1");
    assertThat(devices).containsExactlyInAnyOrder("d1", "d2");
    assertThat(constellations).containsExactly("k1");

    device("d3", "linux");
    all.clear(); // a caller's copy: changing it does not touch the registry
    assertThat(devices).containsExactlyInAnyOrder("d1", "d2");
    assertThat(registry.listClients()).containsExactlyInAnyOrder("d1", "d2", "d3", "k1");
    assertThat(registry.listClientsByType(ClientType.DEVICE))
        .containsExactlyInAnyOrder("d1", "d2", "d3");
  }

  @Test
  void countFollowsRegistrationsTakeoversAndRemovals() throws Exception {
    assertThat(registry.count(ClientType.DEVICE)).isZero();
    FakeConnection d1 = device("d1", "linux");
    device("d2", "linux");
    constellation("k1");
    assertThat(registry.count(ClientType.DEVICE)).isEqualTo(2);
    assertThat(registry.count(ClientType.CONSTELLATION)).isEqualTo(1);
    registry.removeClient("d1", d1);
    assertThat(registry.count(ClientType.DEVICE)).isEqualTo(1);
    assertThat(registry.count(ClientType.CONSTELLATION)).isEqualTo(1);
  }

  @Test
  void isOnlineCountsEveryTypeButIsDeviceConnectedOnlyDevices() throws Exception {
    device("d1", "linux");
    constellation("k1");
    assertThat(registry.isOnline("d1")).isTrue();
    assertThat(registry.isOnline("k1")).isTrue();
    assertThat(registry.isOnline("x")).isFalse();
    assertThat(registry.isOnline(null)).isFalse();
    assertThat(registry.isDeviceConnected("d1")).isTrue();
    assertThat(registry.isDeviceConnected("k1")).isFalse();
    assertThat(registry.isDeviceConnected("x")).isFalse();
    assertThat(registry.isDeviceConnected(null)).isFalse();
  }

  @Test
  void removeClientTakesTheClientOutOfEveryIndex() throws Exception {
    FakeConnection c = device("d1", "Linux", "gui");
    device("d2", "linux", "gui");
    ClientInfo before = registry.getClientInfo("d1").orElseThrow();

    Departure gone = registry.removeClient("d1", c).orElseThrow();

    assertThat(gone.info()).isSameAs(before);
    assertThat(gone.sessions()).isEmpty();
    assertThat(registry.isOnline("d1")).isFalse();
    assertThat(registry.getClient("d1")).isEmpty();
    assertThat(registry.listClients()).containsExactly("d2");
    assertThat(registry.listClientsByType(ClientType.DEVICE)).containsExactly("d2");
    assertThat(registry.getDevicesByPlatform("linux")).containsExactly("d2");
    assertThat(registry.findDevicesWithCapability("gui")).containsExactly("d2");
    assertThat(registry.getStats().total()).isEqualTo(1);
    assertThat(c.closes()).isEmpty(); // the registry never does I/O
  }

  @Test
  void removeClientNeedsTheConnectionItExpects() throws Exception {
    device("d1", "linux");
    ClientInfo live = registry.getClientInfo("d1").orElseThrow();

    assertThat(registry.removeClient("d1", new FakeConnection("conn-d1"))).isEmpty();
    assertThat(registry.removeClient("nobody", live.connection())).isEmpty();
    assertThat(registry.removeClient(null, live.connection())).isEmpty();
    assertThat(registry.removeClient("d1", null)).isEmpty();

    assertThat(registry.getClientInfo("d1")).containsSame(live);
    assertThat(registry.removeClient("d1", live.connection())).isPresent();
    assertThat(registry.removeClient("d1", live.connection())).isEmpty();
  }

  @Test
  void removingADeviceHandsBackItsSessionsAndLeavesTheOwnersMapped() throws Exception {
    FakeConnection dc = device("d1", "linux");
    constellation("k1");
    constellation("k2");
    assertThat(registry.bindSession("s2", "k1", "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(registry.bindSession("s1", "k2", "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(registry.bindSession("s3", null, "d1")).isEqualTo(BindOutcome.BOUND);

    Departure gone = registry.removeClient("d1", dc).orElseThrow();

    assertThat(gone.sessions()).containsExactly("s2", "s1", "s3");
    assertThat(registry.getDeviceSessions("d1")).isEmpty();
    assertThat(registry.getConstellationSessions("k1")).containsExactly("s2");
    assertThat(registry.getConstellationSessions("k2")).containsExactly("s1");
    assertThat(registry.getSessionOwner("s2")).contains("k1");
    assertThat(registry.getSessionExecutor("s2")).isEmpty();
    assertThat(registry.getSessionOwner("s3")).isEmpty(); // hub-owned: nothing left
    assertThat(registry.getStats().runningSessions()).isEqualTo(2);

    assertThat(registry.removeSession("s2")).isTrue();
    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getConstellationSessions("k2")).containsExactly("s1");
    assertThat(registry.getStats().runningSessions()).isEqualTo(1);
  }

  @Test
  void removingAConstellationHandsBackItsSessionsAndLeavesTheDevicesMapped() throws Exception {
    device("d1", "linux");
    device("d2", "linux");
    FakeConnection kc = constellation("k1");
    registry.bindSession("s1", "k1", "d1");
    registry.bindSession("s2", "k1", "d2");
    registry.bindSession("s0", "k1", "d1");

    Departure gone = registry.removeClient("k1", kc).orElseThrow();

    assertThat(gone.info().clientType()).isEqualTo(ClientType.CONSTELLATION);
    assertThat(gone.sessions()).containsExactly("s1", "s2", "s0");
    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1", "s0");
    assertThat(registry.getDeviceSessions("d2")).containsExactly("s2");
    assertThat(registry.getSessionOwner("s1")).isEmpty();
    assertThat(registry.getSessionExecutor("s1")).contains("d1");

    assertThat(registry.removeSession("s1")).isTrue();
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s0");
  }

  // -------------------------------------------------------------------------------- sessions

  @Test
  void addConstellationSessionMapsOnlyToOnlineConstellations() throws Exception {
    constellation("k1");
    device("d1", "linux");
    assertThat(registry.addConstellationSession("k1", "s1")).isTrue();
    assertThat(registry.addConstellationSession("d1", "s2")).isFalse();
    assertThat(registry.addConstellationSession("nobody", "s3")).isFalse();
    assertThat(registry.addConstellationSession(null, "s4")).isFalse();
    assertThat(registry.getConstellationSessions("k1")).containsExactly("s1");
    assertThat(registry.getConstellationSessions("d1")).isEmpty();
    assertThat(registry.getConstellationSessions("nobody")).isEmpty();
    assertThat(registry.getSessionOwner("s2")).isEmpty();
    assertThat(registry.getStats().runningSessions()).isEqualTo(1);
    assertThatThrownBy(() -> registry.addConstellationSession("k1", null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> registry.addConstellationSession("k1", ""))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void constellationSessionsKeepInsertionOrderWithoutDuplicates() throws Exception {
    constellation("k1");
    for (String s : List.of("s3", "s1", "s2", "s1", "s3")) {
      assertThat(registry.addConstellationSession("k1", s)).isTrue();
    }
    assertThat(registry.getConstellationSessions("k1")).containsExactly("s3", "s1", "s2");
  }

  @Test
  void aSessionHasAtMostOneOwner() throws Exception {
    constellation("k1");
    constellation("k2");
    assertThat(registry.addConstellationSession("k1", "s1")).isTrue();
    assertThat(registry.addConstellationSession("k2", "s1")).isFalse();
    assertThat(registry.getConstellationSessions("k2")).isEmpty();
    assertThat(registry.getSessionOwner("s1")).contains("k1");
  }

  @Test
  void aSessionSetReadEarlierIsAStableReadOnlySnapshot() throws Exception {
    constellation("k1");
    registry.addConstellationSession("k1", "s1");
    Set<String> before = registry.getConstellationSessions("k1");

    registry.addConstellationSession("k1", "s2");
    registry.removeSession("s1");

    assertThat(before).containsExactly("s1");
    assertThat(registry.getConstellationSessions("k1")).containsExactly("s2");
    assertThatThrownBy(() -> before.add("x")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> before.remove("s1")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> registry.getConstellationSessions("nobody").add("x"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void getConstellationSessionsOfNullIsEmpty() {
    assertThat(registry.getConstellationSessions(null)).isEmpty();
  }

  @Test
  void removeConstellationSessionsUnmapsTheOwnerSideOnly() throws Exception {
    constellation("k1");
    device("d1", "linux");
    registry.bindSession("s1", "k1", "d1");
    registry.addConstellationSession("k1", "s2");

    assertThat(registry.removeConstellationSessions("k1")).containsExactly("s1", "s2");

    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getSessionOwner("s1")).isEmpty();
    assertThat(registry.getSessionOwner("s2")).isEmpty();
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1");
    assertThat(registry.getStats().runningSessions()).isEqualTo(1);
    assertThat(registry.removeConstellationSessions("k1")).isEmpty();
    assertThat(registry.removeConstellationSessions(null)).isEmpty();
    assertThat(registry.isOnline("k1")).isTrue();
    // the owner side is free again
    assertThat(registry.addConstellationSession("k1", "s1")).isTrue();
    assertThat(registry.getSessionOwner("s1")).contains("k1");
    assertThat(registry.getSessionExecutor("s1")).contains("d1");
  }

  @Test
  void addDeviceSessionMapsOnlyToOnlineDevices() throws Exception {
    device("d1", "linux");
    constellation("k1");
    assertThat(registry.addDeviceSession("d1", "s1")).isTrue();
    assertThat(registry.addDeviceSession("k1", "s2")).isFalse();
    assertThat(registry.addDeviceSession("nobody", "s3")).isFalse();
    assertThat(registry.addDeviceSession(null, "s4")).isFalse();
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1");
    assertThat(registry.getDeviceSessions("k1")).isEmpty();
    assertThat(registry.getSessionExecutor("s2")).isEmpty();
    assertThatThrownBy(() -> registry.addDeviceSession("d1", null))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void deviceSessionsKeepInsertionOrderWithoutDuplicatesAndOneExecutor() throws Exception {
    device("d1", "linux");
    device("d2", "linux");
    for (String s : List.of("b", "a", "c", "a", "b")) {
      assertThat(registry.addDeviceSession("d1", s)).isTrue();
    }
    assertThat(registry.addDeviceSession("d2", "a")).isFalse();
    assertThat(registry.getDeviceSessions("d1")).containsExactly("b", "a", "c");
    assertThat(registry.getDeviceSessions("d2")).isEmpty();
    assertThat(registry.getDeviceSessions(null)).isEmpty();
  }

  @Test
  void addDeviceSessionDoesNotCheckCapacity() throws Exception {
    ClientRegistry limited =
        ClientRegistry.builder().defaultMaxConcurrentTasks(1).clock(clock).build();
    limited.addClient("d1", "linux", new FakeConnection("c"), ClientType.DEVICE, null);
    assertThat(limited.addDeviceSession("d1", "s1")).isTrue();
    assertThat(limited.addDeviceSession("d1", "s2")).isTrue();
    assertThat(limited.getDeviceSessions("d1")).containsExactly("s1", "s2");
    assertThat(limited.bindSession("s3", null, "d1")).isEqualTo(BindOutcome.DEVICE_AT_CAPACITY);
    assertThat(RegistryConsistency.check(limited)).isEmpty();
  }

  @Test
  void bothSidesCanBeMappedOneAtATime() throws Exception {
    constellation("k1");
    device("d1", "linux");
    assertThat(registry.addConstellationSession("k1", "s1")).isTrue();
    assertThat(registry.addDeviceSession("d1", "s1")).isTrue();
    assertThat(registry.getSessionOwner("s1")).contains("k1");
    assertThat(registry.getSessionExecutor("s1")).contains("d1");
    assertThat(registry.getStats().runningSessions()).isEqualTo(1);

    assertThat(registry.removeSession("s1")).isTrue();
    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getDeviceSessions("d1")).isEmpty();
  }

  @Test
  void removeDeviceSessionsUnmapsTheExecutorSideOnly() throws Exception {
    constellation("k1");
    device("d1", "linux");
    registry.bindSession("s1", "k1", "d1");
    registry.bindSession("s2", null, "d1");

    assertThat(registry.removeDeviceSessions("d1")).containsExactly("s1", "s2");

    assertThat(registry.getDeviceSessions("d1")).isEmpty();
    assertThat(registry.getSessionExecutor("s1")).isEmpty();
    assertThat(registry.getConstellationSessions("k1")).containsExactly("s1");
    assertThat(registry.getStats().runningSessions()).isEqualTo(1); // s2 had no owner
    assertThat(registry.removeDeviceSessions("d1")).isEmpty();
    assertThat(registry.removeDeviceSessions(null)).isEmpty();
    assertThat(registry.isDeviceConnected("d1")).isTrue();
  }

  @Test
  void removeSessionDropsOneSessionFromBothSides() throws Exception {
    constellation("k1");
    device("d1", "linux");
    registry.bindSession("s1", "k1", "d1");
    registry.bindSession("s2", "k1", "d1");
    registry.bindSession("s3", "k1", "d1");

    assertThat(registry.removeSession("s2")).isTrue();

    assertThat(registry.getConstellationSessions("k1")).containsExactly("s1", "s3");
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1", "s3");
    assertThat(registry.getSessionOwner("s2")).isEmpty();
    assertThat(registry.getSessionExecutor("s2")).isEmpty();
    assertThat(registry.removeSession("s2")).isFalse();
    assertThat(registry.removeSession("never")).isFalse();
    assertThat(registry.removeSession(null)).isFalse();
    // the id can be used again
    assertThat(registry.bindSession("s2", "k1", "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1", "s3", "s2");
  }

  @Test
  void removeSessionWithOnlyOneSideMapped() throws Exception {
    constellation("k1");
    device("d1", "linux");
    registry.addConstellationSession("k1", "owned");
    registry.addDeviceSession("d1", "executed");
    assertThat(registry.removeSession("owned")).isTrue();
    assertThat(registry.removeSession("executed")).isTrue();
    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getDeviceSessions("d1")).isEmpty();
    assertThat(registry.getStats().runningSessions()).isZero();
  }

  @Test
  void getSessionOwnerAndExecutor() throws Exception {
    constellation("k1");
    device("d1", "linux");
    registry.bindSession("s1", "k1", "d1");
    registry.bindSession("hub", null, "d1");
    assertThat(registry.getSessionOwner("s1")).contains("k1");
    assertThat(registry.getSessionExecutor("s1")).contains("d1");
    assertThat(registry.getSessionOwner("hub")).isEmpty();
    assertThat(registry.getSessionExecutor("hub")).contains("d1");
    assertThat(registry.getSessionOwner("none")).isEmpty();
    assertThat(registry.getSessionExecutor("none")).isEmpty();
    assertThat(registry.getSessionOwner(null)).isEmpty();
    assertThat(registry.getSessionExecutor(null)).isEmpty();
  }

  // ------------------------------------------------------------------------------ bindSession

  @Test
  void bindSessionBoundMapsBothSides() throws Exception {
    constellation("k1");
    device("d1", "linux");
    assertThat(registry.bindSession("s1", "k1", "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(registry.getConstellationSessions("k1")).containsExactly("s1");
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1");
    assertThat(registry.getStats().runningSessions()).isEqualTo(1);
  }

  @Test
  void bindSessionRefusesASessionIdInUse() throws Exception {
    constellation("k1");
    constellation("k2");
    device("d1", "linux");
    device("d2", "linux");
    registry.bindSession("s1", "k1", "d1");
    registry.addConstellationSession("k2", "owned-only");
    registry.addDeviceSession("d2", "executed-only");

    assertThat(registry.bindSession("s1", "k1", "d1")).isEqualTo(BindOutcome.SESSION_IN_USE);
    assertThat(registry.bindSession("s1", "k2", "d2")).isEqualTo(BindOutcome.SESSION_IN_USE);
    assertThat(registry.bindSession("owned-only", "k2", "d1"))
        .isEqualTo(BindOutcome.SESSION_IN_USE);
    assertThat(registry.bindSession("executed-only", null, "d2"))
        .isEqualTo(BindOutcome.SESSION_IN_USE);

    assertThat(registry.getConstellationSessions("k1")).containsExactly("s1");
    assertThat(registry.getConstellationSessions("k2")).containsExactly("owned-only");
    assertThat(registry.getDeviceSessions("d1")).containsExactly("s1");
    assertThat(registry.getDeviceSessions("d2")).containsExactly("executed-only");
  }

  @Test
  void bindSessionNeedsAnOnlineConstellationAsOwner() throws Exception {
    device("d1", "linux");
    device("d2", "linux");
    assertThat(registry.bindSession("s1", "nobody", "d1")).isEqualTo(BindOutcome.OWNER_OFFLINE);
    assertThat(registry.bindSession("s2", "d2", "d1")).isEqualTo(BindOutcome.OWNER_OFFLINE);
    assertThat(registry.getDeviceSessions("d1")).isEmpty();
    assertThat(registry.getConstellationSessions("d2")).isEmpty();
    assertThat(registry.getStats().runningSessions()).isZero();
  }

  @Test
  void bindSessionNeedsAnOnlineDeviceAsExecutor() throws Exception {
    constellation("k1");
    constellation("k2");
    assertThat(registry.bindSession("s1", "k1", "nobody")).isEqualTo(BindOutcome.DEVICE_OFFLINE);
    assertThat(registry.bindSession("s2", "k1", "k2")).isEqualTo(BindOutcome.DEVICE_OFFLINE);
    assertThat(registry.bindSession("s3", null, "k2")).isEqualTo(BindOutcome.DEVICE_OFFLINE);
    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getDeviceSessions("k2")).isEmpty();
    assertThat(registry.getStats().runningSessions()).isZero();
  }

  @Test
  void bindSessionRespectsTheConfiguredLimit() throws Exception {
    ClientRegistry r =
        ClientRegistry.builder()
            .deviceConfig(config("d1", Map.of("max_concurrent_tasks", 2)))
            .clock(clock)
            .build();
    r.addClient("d1", "linux", new FakeConnection("c1"), ClientType.DEVICE, null);
    r.addClient("d2", "linux", new FakeConnection("c2"), ClientType.DEVICE, null);
    r.addClient("k1", "linux", new FakeConnection("c3"), ClientType.CONSTELLATION, null);

    assertThat(r.bindSession("s1", "k1", "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("s2", null, "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("s3", "k1", "d1")).isEqualTo(BindOutcome.DEVICE_AT_CAPACITY);
    assertThat(r.getConstellationSessions("k1")).containsExactly("s1");
    assertThat(r.getSessionOwner("s3")).isEmpty();
    for (int i = 0; i < 10; i++) { // no entry, no default: no limit
      assertThat(r.bindSession("x" + i, "k1", "d2")).isEqualTo(BindOutcome.BOUND);
    }
    r.removeSession("s1");
    assertThat(r.bindSession("s3", "k1", "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  @Test
  void bindSessionRespectsTheDefaultLimitWhenTheEntrySetsNone() throws Exception {
    ClientRegistry r =
        ClientRegistry.builder()
            .deviceConfig(
                config("d2", Map.of("tier", "x"), "d3", Map.of("max_concurrent_tasks", 3)))
            .defaultMaxConcurrentTasks(1)
            .clock(clock)
            .build();
    for (String id : List.of("d1", "d2", "d3")) {
      r.addClient(id, "linux", new FakeConnection(id), ClientType.DEVICE, null);
    }
    assertThat(r.getClientInfo("d1").orElseThrow().maxConcurrentTasks()).isEqualTo(1);
    assertThat(r.getClientInfo("d2").orElseThrow().maxConcurrentTasks()).isEqualTo(1);
    assertThat(r.getClientInfo("d3").orElseThrow().maxConcurrentTasks()).isEqualTo(3);

    assertThat(r.bindSession("a1", null, "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("a2", null, "d1")).isEqualTo(BindOutcome.DEVICE_AT_CAPACITY);
    assertThat(r.bindSession("b1", null, "d2")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("b2", null, "d2")).isEqualTo(BindOutcome.DEVICE_AT_CAPACITY);
    assertThat(r.bindSession("c1", null, "d3")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("c2", null, "d3")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("c3", null, "d3")).isEqualTo(BindOutcome.BOUND);
    assertThat(r.bindSession("c4", null, "d3")).isEqualTo(BindOutcome.DEVICE_AT_CAPACITY);
  }

  @Test
  void aHubOwnedSessionBindsOnlyTheDeviceSide() throws Exception {
    constellation("k1");
    device("d1", "linux");
    assertThat(registry.bindSession("http-1", null, "d1")).isEqualTo(BindOutcome.BOUND);
    assertThat(registry.getDeviceSessions("d1")).containsExactly("http-1");
    assertThat(registry.getConstellationSessions("k1")).isEmpty();
    assertThat(registry.getSessionOwner("http-1")).isEmpty();
    assertThat(registry.getSessionExecutor("http-1")).contains("d1");
    assertThat(registry.getStats().runningSessions()).isEqualTo(1);
    assertThat(registry.removeSession("http-1")).isTrue();
    assertThat(registry.getDeviceSessions("d1")).isEmpty();
  }

  @Test
  void bindSessionRejectsMissingIds() throws Exception {
    device("d1", "linux");
    assertThatThrownBy(() -> registry.bindSession(null, null, "d1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> registry.bindSession("", null, "d1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> registry.bindSession("s", null, null))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // ----------------------------------------------------------------------------- device info

  @Test
  void getDeviceSystemInfoIsForDevicesOnly() throws Exception {
    device("d1", "linux", "gui");
    registry.addClient("d2", "linux", new FakeConnection("c2"), ClientType.DEVICE, null);
    constellation("k1");
    assertThat(registry.getDeviceSystemInfo("d1"))
        .contains(Map.of("supported_features", List.of("gui")));
    assertThat(registry.getDeviceSystemInfo("d2")).isEmpty();
    assertThat(registry.getDeviceSystemInfo("k1")).isEmpty();
    assertThat(registry.getDeviceSystemInfo("nobody")).isEmpty();
    assertThat(registry.getDeviceSystemInfo(null)).isEmpty();
  }

  @Test
  void getAllDevicesInfoSkipsDevicesWithoutInfo() throws Exception {
    device("d1", "linux", "gui");
    registry.addClient("d2", "linux", new FakeConnection("c2"), ClientType.DEVICE, null);
    registry.addClient(
        "d3", "linux", new FakeConnection("c3"), ClientType.DEVICE, meta(new LinkedHashMap<>()));
    registry.addClient(
        "k1", "linux", new FakeConnection("c4"), ClientType.CONSTELLATION, metaWith("gui"));

    Map<String, Map<String, Object>> all = registry.getAllDevicesInfo();

    assertThat(all).containsOnlyKeys("d1");
    assertThat(all.get("d1")).isEqualTo(Map.of("supported_features", List.of("gui")));
    assertThat(registry.getDeviceSystemInfo("d3")).contains(Map.of());
  }

  // ---------------------------------------------------------------------------------- stats

  @Test
  void getStatsCountsClientsPlatformsAndSessions() throws Exception {
    assertThat(registry.getStats()).isEqualTo(new RegistryStats(0, 0, 0, Map.of(), 0));

    device("d1", "Windows");
    device("d2", "windows");
    device("d3", "LINUX");
    device("d4", null);
    constellation("k1");
    constellation("k2");
    registry.bindSession("s1", "k1", "d1");
    registry.bindSession("s2", null, "d2");
    registry.addConstellationSession("k2", "s3");

    RegistryStats stats = registry.getStats();
    assertThat(stats.total()).isEqualTo(6);
    assertThat(stats.deviceClients()).isEqualTo(4);
    assertThat(stats.constellationClients()).isEqualTo(2);
    assertThat(stats.devicesByPlatform()).isEqualTo(Map.of("windows", 3, "linux", 1));
    assertThat(stats.runningSessions()).isEqualTo(3);

    Map<String, Object> map = stats.toMap();
    assertThat(map.keySet())
        .containsExactly(
            "total",
            "device_clients",
            "constellation_clients",
            "devices_by_platform",
            "running_sessions");
    assertThat(map)
        .containsEntry("total", 6)
        .containsEntry("device_clients", 4)
        .containsEntry("constellation_clients", 2)
        .containsEntry("devices_by_platform", Map.of("linux", 1, "windows", 3))
        .containsEntry("running_sessions", 3);

    registry.removeClient("d3", registry.getClient("d3").orElseThrow());
    assertThat(registry.getStats().devicesByPlatform()).isEqualTo(Map.of("windows", 3));
    assertThat(registry.getStats().total()).isEqualTo(5);
  }

  // ------------------------------------------------------------------------------- platforms

  @Test
  void getDevicesByPlatformIgnoresCaseAndSkipsConstellations() throws Exception {
    device("d1", "Linux");
    device("d2", "linux");
    device("d3", "windows");
    registry.addClient("k1", "linux", new FakeConnection("ck"), ClientType.CONSTELLATION, null);

    assertThat(registry.getDevicesByPlatform("LINUX")).containsExactlyInAnyOrder("d1", "d2");
    assertThat(registry.getDevicesByPlatform("linux")).containsExactlyInAnyOrder("d1", "d2");
    assertThat(registry.getDevicesByPlatform("Windows")).containsExactly("d3");
    assertThat(registry.getDevicesByPlatform("macos")).isEmpty();
    assertThat(registry.getDevicesByPlatform(null)).isEmpty();
    // the reported spelling is kept on the entry itself
    assertThat(registry.getClientInfo("d1").orElseThrow().platform()).isEqualTo("Linux");
  }

  // ----------------------------------------------------------------------- recently connected

  @Test
  void getRecentlyConnectedUsesTheRegistryClockOldestFirst() throws Exception {
    Instant t0 = clock.instant();
    device("a", "linux");
    clock.advance(Duration.ofSeconds(10));
    constellation("b");
    clock.advance(Duration.ofSeconds(10));
    device("c", "linux");
    device("b2", "linux"); // same instant as c: by id
    clock.advance(Duration.ofSeconds(10)); // now t0 + 30 s

    assertThat(registry.getRecentlyConnected(Duration.ofSeconds(5))).isEmpty();
    assertThat(registry.getRecentlyConnected(Duration.ofSeconds(15))).containsExactly("b2", "c");
    assertThat(registry.getRecentlyConnected(Duration.ofSeconds(20)))
        .containsExactly("b", "b2", "c"); // the boundary is included
    assertThat(registry.getRecentlyConnected(Duration.ofHours(1)))
        .containsExactly("a", "b", "b2", "c");
    assertThat(registry.getClientInfo("a").orElseThrow().connectedAt()).isEqualTo(t0);

    registry.removeClient("b", registry.getClient("b").orElseThrow());
    assertThat(registry.getRecentlyConnected(Duration.ofHours(1))).containsExactly("a", "b2", "c");
    clock.advance(Duration.ofDays(1));
    assertThat(registry.getRecentlyConnected(Duration.ofHours(1))).isEmpty();
  }

  // ---------------------------------------------------------------------------- capabilities

  @Test
  void findDevicesWithCapabilityMatchesMergedFeaturesOfDevicesOnly() throws Exception {
    ClientRegistry r =
        ClientRegistry.builder()
            .deviceConfig(
                config(
                    "d2",
                    Map.of("additional_features", List.of("excel")),
                    "d4",
                    Map.of("additional_features", List.of("excel"))))
            .clock(clock)
            .build();
    r.addClient("d1", "linux", new FakeConnection("1"), ClientType.DEVICE, metaWith("gui", "cli"));
    r.addClient("d2", "linux", new FakeConnection("2"), ClientType.DEVICE, metaWith("gui"));
    r.addClient("d3", "linux", new FakeConnection("3"), ClientType.DEVICE, null);
    r.addClient("d4", "linux", new FakeConnection("4"), ClientType.DEVICE, null);
    r.addClient("k1", "linux", new FakeConnection("5"), ClientType.CONSTELLATION, metaWith("gui"));

    assertThat(r.findDevicesWithCapability("gui")).containsExactlyInAnyOrder("d1", "d2");
    assertThat(r.findDevicesWithCapability("cli")).containsExactly("d1");
    // additional_features only join reported supported_features: d4 reported none
    assertThat(r.findDevicesWithCapability("excel")).containsExactly("d2");
    assertThat(r.findDevicesWithCapability("GUI")).isEmpty();
    assertThat(r.findDevicesWithCapability("nothing")).isEmpty();
    assertThat(r.findDevicesWithCapability(null)).isEmpty();
    assertThat(RegistryConsistency.check(r)).isEmpty();
  }

  @Test
  void aDeviceWithoutSystemInfoNeverMatchesACapability() throws Exception {
    registry.addClient("bare", "linux", new FakeConnection("c"), ClientType.DEVICE, null);
    assertThat(registry.findDevicesWithCapability("gui")).isEmpty();
    assertThat(registry.selectOptimalDevice(null, List.of("gui"), null)).isEmpty();
    assertThat(registry.selectOptimalDevice(null, List.of(), null)).contains("bare");
  }
}
