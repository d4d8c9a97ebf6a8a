package org.aiphub.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.RegistryStats;

/** Registered clients in one call, and the registry checks every disconnect test ends with. */
public final class Clients {
  private Clients() {}

  /** A device registered under {@code id}; its registration reply is already taken. */
  public static WsClient device(TestHub hub, String id) {
    WsClient c = hub.connect();
    c.send(ClientFrames.registerDevice(id));
    assertRegistered(c.next());
    return c;
  }

  /** A constellation (no target) registered under {@code id}; its reply is already taken. */
  public static WsClient constellation(TestHub hub, String id) {
    WsClient c = hub.connect();
    c.send(ClientFrames.registerConstellation(id));
    assertRegistered(c.next());
    return c;
  }

  /** Asserts that {@code m} is the registration reply. */
  public static void assertRegistered(ServerMessage m) {
    assertThat(m.type()).as("registration reply %s", m).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.sessionId()).isNull();
    assertThat(m.responseId()).isNotBlank();
  }

  /** Sends a task and takes its acceptance ack, which must be the constellation's next frame. */
  public static void startTask(
      WsClient constellation, String constellationId, String deviceId, String sessionId) {
    startTask(constellation, constellationId, deviceId, sessionId, "do " + sessionId);
  }

  /** Sends a task with a given request text and takes its acceptance ack. */
  public static void startTask(
      WsClient constellation,
      String constellationId,
      String deviceId,
      String sessionId,
      String request) {
    constellation.send(ClientFrames.task(constellationId, deviceId, sessionId, request));
    ServerMessage ack = constellation.next();
    assertThat(ack.type())
        .as("ack of %s: %s", sessionId, ack)
        .isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(ack.sessionId()).isEqualTo(sessionId);
  }

  /** Takes the next {@code n} frames, which must all be tasks, and returns their session ids. */
  public static List<String> takeTasks(WsClient device, int n) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ServerMessage m = device.next();
      assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.TASK);
      ids.add(m.sessionId());
    }
    return ids;
  }

  /** Every frame already received and not taken yet. */
  public static List<ServerMessage> drain(WsClient c) {
    List<ServerMessage> out = new ArrayList<>();
    while (c.pending() > 0) {
      out.add(c.next());
    }
    return out;
  }

  /**
   * Asserts that no session is mapped to anybody any more and that the registry's counters equal
   * its contents and pass its own consistency check.
   */
  public static void assertNoMappingsAndConsistent(ClientRegistry registry) {
    for (String id : registry.listClients()) {
      assertThat(registry.getDeviceSessions(id)).as("sessions of device %s", id).isEmpty();
      assertThat(registry.getConstellationSessions(id)).as("sessions of owner %s", id).isEmpty();
    }
    assertCountersMatchContents(registry);
    assertThat(registry.getStats().runningSessions()).as("mapped sessions").isZero();
  }

  /**
   * Asserts that {@code getStats()} equals what the listings hold, and the internal check. Reads
   * take no lock, so a client still closing may show in one view and not yet in the other for a
   * moment: the check waits (briefly) for the registry to settle, and fails if it never does.
   */
  public static void assertCountersMatchContents(ClientRegistry registry) {
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(20))
        .untilAsserted(() -> assertSettled(registry));
  }

  private static void assertSettled(ClientRegistry registry) {
    RegistryStats stats = registry.getStats();
    List<String> all = registry.listClients();
    List<String> devices = registry.listClientsByType(ClientType.DEVICE);
    List<String> constellations = registry.listClientsByType(ClientType.CONSTELLATION);
    assertThat(stats.total()).as("total").isEqualTo(all.size());
    assertThat(stats.deviceClients()).as("devices").isEqualTo(devices.size());
    assertThat(stats.constellationClients()).as("constellations").isEqualTo(constellations.size());
    assertThat(devices.size() + constellations.size()).isEqualTo(all.size());
    int byPlatform = stats.devicesByPlatform().values().stream().mapToInt(Integer::intValue).sum();
    assertThat(byPlatform).as("devices by platform").isEqualTo(devices.size());
    assertThat(HubInternals.consistencyProblems(registry)).as("registry consistency").isEmpty();
  }
}
