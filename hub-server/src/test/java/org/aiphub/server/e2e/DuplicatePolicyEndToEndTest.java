package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/** Duplicate client ids under both policies, and the takeover cleanup race. */
class DuplicatePolicyEndToEndTest {
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final String DEVICE = "device_windows_001";
  private static final String OWNER = "weekly_report@device_windows_001";
  private static final String SESSION = "weekly_report@task_3";

  // ----------------------------------------------------------------------------------- reject

  @Test
  void rejectRefusesTheNewcomerWithAnErrorAndCloseAndLeavesTheHolderUntouched() throws Exception {
    String expected = new AipCodec().decodeServer(Fixtures.text("server-error.json")).error();
    try (TestHub hub = TestHub.start();
        WsClient holder = hub.connect();
        WsClient newcomer = hub.connect();
        WsClient owner = hub.connect()) {
      holder.send(Fixtures.text("client-register-device.json"));
      Clients.assertRegistered(holder.next());
      ClientRegistry registry = hub.server().registry();
      ClientConnection live = registry.getClient(DEVICE).orElseThrow();

      newcomer.send(Fixtures.text("client-register-device.json"));
      ServerMessage error = newcomer.next();
      assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(error.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(error.error()).isEqualTo(expected).contains("already registered");
      assertThat(newcomer.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(Clients.drain(newcomer)).isEmpty();

      // The holder keeps its entry, and its traffic.
      assertThat(registry.getClient(DEVICE)).containsSame(live);
      assertThat(holder.isClosed()).isFalse();
      owner.send(Fixtures.text("client-register-constellation.json"));
      Clients.assertRegistered(owner.next());
      owner.send(Fixtures.text("client-task-constellation.json"));
      assertThat(owner.next().sessionId()).isEqualTo(SESSION);
      ServerMessage task = holder.next(); // the holder saw nothing of the newcomer
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.sessionId()).isEqualTo(SESSION);
      holder.send(Fixtures.text("client-task-end-device.json"));
      ServerMessage end = owner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.result()).isEqualTo(Map.of("total", 18250.5, "sheet", "Q3"));
      assertThat(registry.listClients()).containsExactlyInAnyOrder(DEVICE, OWNER);
      Clients.assertNoMappingsAndConsistent(registry);
    }
  }

  @Test
  void rejectAppliesToConstellationsAndKeepsTheHoldersSessions() {
    try (TestHub hub = TestHub.start();
        WsClient device = Clients.device(hub, "dev-1");
        WsClient holder = Clients.constellation(hub, "galaxy-1");
        WsClient newcomer = hub.connect()) {
      Clients.startTask(holder, "galaxy-1", "dev-1", "s1");
      assertThat(Clients.takeTasks(device, 1)).containsExactly("s1");
      newcomer.send(ClientFrames.registerConstellation("galaxy-1"));
      assertThat(newcomer.next().error()).contains("already registered");
      assertThat(newcomer.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);

      // The newcomer's close runs no disconnect path for the holder: s1 still runs, and ends.
      device.expectNothing(QUIET);
      assertThat(hub.server().registry().getConstellationSessions("galaxy-1"))
          .containsExactly("s1");
      device.send(ClientFrames.taskEnd("dev-1", "s1", "{\"ok\":true}"));
      ServerMessage end = holder.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.sessionId()).isEqualTo("s1");
    }
  }

  // --------------------------------------------------------------------------------- takeover

  @Test
  void takeoverClosesTheOldDeviceWith4000AndTheNewOneFinishesItsSessions() {
    try (TestHub hub = TestHub.start(b -> b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
        WsClient old = Clients.device(hub, "dev-1");
        WsClient owner = Clients.constellation(hub, "galaxy-1")) {
      ClientRegistry registry = hub.server().registry();
      ClientConnection oldConn = registry.getClient("dev-1").orElseThrow();
      Clients.startTask(owner, "galaxy-1", "dev-1", "s1");
      assertThat(Clients.takeTasks(old, 1)).containsExactly("s1");

      try (WsClient fresh = Clients.device(hub, "dev-1")) {
        assertThat(old.awaitClose()).isEqualTo(CloseCodes.TAKEN_OVER);
        ClientConnection freshConn = registry.getClient("dev-1").orElseThrow();
        assertThat(freshConn).isNotSameAs(oldConn);
        assertThat(registry.getDeviceSessions("dev-1")).containsExactly("s1");

        fresh.send(ClientFrames.taskEnd("dev-1", "s1", "{\"by\":\"fresh\"}"));
        ServerMessage end = owner.next();
        assertThat(end.type())
            .as("no device_disconnected first")
            .isEqualTo(ServerMessageType.TASK_END);
        assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(end.sessionId()).isEqualTo("s1");
        assertThat(end.result()).isEqualTo(Map.of("by", "fresh"));
        owner.expectNothing(QUIET);

        // New tasks reach the new socket.
        Clients.startTask(owner, "galaxy-1", "dev-1", "s2");
        assertThat(Clients.takeTasks(fresh, 1)).containsExactly("s2");
        assertThat(registry.getClient("dev-1")).containsSame(freshConn);
        assertThat(registry.listClients()).containsExactlyInAnyOrder("dev-1", "galaxy-1");
        Clients.assertCountersMatchContents(registry);
      }
    }
  }

  @Test
  void takeoverOfAConstellationKeepsItsSessionsForTheNewSocket() {
    try (TestHub hub = TestHub.start(b -> b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
        WsClient device = Clients.device(hub, "dev-1");
        WsClient old = Clients.constellation(hub, "galaxy-1")) {
      Clients.startTask(old, "galaxy-1", "dev-1", "s1");
      assertThat(Clients.takeTasks(device, 1)).containsExactly("s1");
      try (WsClient fresh = Clients.constellation(hub, "galaxy-1")) {
        assertThat(old.awaitClose()).isEqualTo(CloseCodes.TAKEN_OVER);
        // The old socket's cleanup cancelled nothing.
        device.expectNothing(QUIET);
        device.send(ClientFrames.taskEnd("dev-1", "s1", "{\"ok\":true}"));
        ServerMessage end = fresh.next();
        assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(end.sessionId()).isEqualTo("s1");
        assertThat(Clients.drain(old)).isEmpty();
        Clients.assertNoMappingsAndConsistent(hub.server().registry());
      }
    }
  }

  @Test
  void takeoverAcrossTypesIsRefused() {
    try (TestHub hub = TestHub.start(b -> b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
        WsClient device = Clients.device(hub, "dev-1");
        WsClient impostor = hub.connect()) {
      impostor.send(ClientFrames.registerConstellation("dev-1"));
      assertThat(impostor.next().type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(impostor.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(device.isClosed()).isFalse();
      assertThat(hub.server().registry().isDeviceConnected("dev-1")).isTrue();
    }
  }

  /**
   * Thirty takeovers in a row, the displaced socket sometimes closed by the hub (4000) and
   * sometimes also dropped by the client at the same moment: no displaced connection's cleanup may
   * remove its successor's entry or fail the session the id has been running all along. (A socket
   * dropped <em>before</em> the newcomer registered is a device that left: its session fails, as it
   * should, so the drop comes after the newcomer's registration reply.)
   */
  @Test
  void theOldConnectionsCleanupNeverRemovesTheNewEntry() {
    int rounds = 30;
    try (TestHub hub = TestHub.start(b -> b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER));
        WsClient owner = Clients.constellation(hub, "galaxy-1")) {
      ClientRegistry registry = hub.server().registry();
      List<WsClient> displaced = new ArrayList<>();
      WsClient holder = Clients.device(hub, "dev-1");
      Clients.startTask(owner, "galaxy-1", "dev-1", "s0");
      assertThat(Clients.takeTasks(holder, 1)).containsExactly("s0");
      try {
        for (int i = 0; i < rounds; i++) {
          WsClient next = hub.connect();
          next.send(ClientFrames.registerDevice("dev-1"));
          Clients.assertRegistered(next.next());
          if (i % 2 == 1) {
            // The takeover happened; the client's reset now races the hub's own close (4000).
            holder.abort();
          }
          displaced.add(holder);
          holder = next;
        }
        for (int i = 0; i < displaced.size(); i++) {
          if (i % 2 == 0) {
            assertThat(displaced.get(i).awaitClose()).as("round %d", i).isEqualTo(4000);
          }
        }
        WsClient last = holder;
        ClientConnection lastConn = registry.getClient("dev-1").orElseThrow();
        // Every displaced channel is closed and cleaned up by now or soon; the entry survives it.
        await()
            .during(QUIET)
            .atMost(Duration.ofSeconds(10))
            .until(() -> registry.getClient("dev-1").orElse(null) == lastConn);
        assertThat(registry.getDeviceSessions("dev-1")).containsExactly("s0");

        Clients.startTask(owner, "galaxy-1", "dev-1", "s1");
        assertThat(Clients.takeTasks(last, 1)).containsExactly("s1");
        last.send(ClientFrames.taskEnd("dev-1", "s0", "{\"n\":0}"));
        last.send(ClientFrames.taskEnd("dev-1", "s1", "{\"n\":1}"));
        for (String s : List.of("s0", "s1")) {
          ServerMessage end = owner.next();
          assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
          assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
          assertThat(end.sessionId()).isEqualTo(s);
        }
        assertThat(registry.listClients()).containsExactlyInAnyOrder("dev-1", "galaxy-1");
        Clients.assertNoMappingsAndConsistent(registry);
      } finally {
        holder.close();
        displaced.forEach(WsClient::abort);
      }
    }
  }
}
