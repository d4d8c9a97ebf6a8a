package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.IDLE_TIMEOUT;
import static org.aiphub.server.config.Settings.PING_TIMEOUT;
import static org.aiphub.server.config.Settings.REGISTRATION_TIMEOUT;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_HIGH;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_LOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.SlowConsumerFlood;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * The registration timeout, the idle timer and the slow-consumer timer, with short timeouts in the
 * test config.
 */
class TimeoutsEndToEndTest {
  private static final Duration SHORT = Duration.ofMillis(300);

  @Test
  void aSocketThatNeverRegistersIsClosedWith1008() {
    try (TestHub hub = TestHub.start(b -> b.set(REGISTRATION_TIMEOUT, SHORT));
        WsClient silent = hub.connect()) {
      assertThat(silent.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(silent.closeReason()).isEqualTo("registration timeout");
      assertThat(Clients.drain(silent)).as("nothing but the close").isEmpty();
      assertThat(hub.server().registry().listClients()).isEmpty();
    }
  }

  @Test
  void aRawSocketThatUpgradesAndNeverRegistersGetsTheCloseFrameThenEndOfStream() {
    try (TestHub hub = TestHub.start(b -> b.set(REGISTRATION_TIMEOUT, SHORT));
        RawWsClient silent = RawWsClient.connect(hub.wsUri())) {
      RawWsClient.Frame close = silent.readFrame();
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(silent.readUntilEof()).isEmpty();
    }
  }

  @Test
  void aClientThatRegisteredIsNotClosedByTheRegistrationTimer() {
    try (TestHub hub = TestHub.start(b -> b.set(REGISTRATION_TIMEOUT, SHORT));
        WsClient device = Clients.device(hub, "dev-1")) {
      await()
          .during(SHORT.multipliedBy(4))
          .atMost(SHORT.multipliedBy(8))
          .until(() -> !device.isClosed() && hub.server().registry().isOnline("dev-1"));
      device.send(ClientFrames.heartbeat("dev-1"));
      assertThat(device.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
    }
  }

  @Test
  void aSilentClientIsPingedThenClosedWith4001AndCleanedUp() {
    try (TestHub hub = TestHub.start(b -> b.set(IDLE_TIMEOUT, SHORT).set(PING_TIMEOUT, SHORT));
        RawWsClient device = RawWsClient.connect(hub.wsUri());
        WsClient owner = Clients.constellation(hub, "galaxy-1")) {
      device.sendText(ClientFrames.registerDevice("dev-silent"));
      Clients.assertRegistered(device.readMessage());
      Clients.startTask(owner, "galaxy-1", "dev-silent", "s1");
      ServerMessage task = device.readMessage();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);

      // From now on the device sends nothing, not even a pong.
      RawWsClient.Frame ping = device.readFrame();
      assertThat(ping.opcode()).as("first frame after the task").isEqualTo(RawWsClient.PING);
      RawWsClient.Frame close = device.readFrame();
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.IDLE_TIMEOUT);
      assertThat(device.readUntilEof()).isEmpty();

      ServerMessage failed = owner.next();
      assertThat(failed.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(failed.error()).isEqualTo("device_disconnected");
      assertThat(failed.sessionId()).isEqualTo("s1");
      ClientRegistry registry = hub.server().registry();
      assertThat(registry.isOnline("dev-silent")).isFalse();
      assertThat(hub.server().sessions().get("s1").orElseThrow().state())
          .isEqualTo(SessionState.FAILED);
      Clients.assertNoMappingsAndConsistent(registry);
      // The owner answers pings (java.net.http does it by itself) and is still here.
      assertThat(registry.isOnline("galaxy-1")).isTrue();
      assertThat(owner.isClosed()).isFalse();
    }
  }

  @Test
  void clientsThatAnswerPingsStayConnectedPastManyIdlePeriods() {
    Duration idle = Duration.ofMillis(200);
    try (TestHub hub = TestHub.start(b -> b.set(IDLE_TIMEOUT, idle).set(PING_TIMEOUT, idle));
        WsClient device = Clients.device(hub, "dev-1");
        WsClient owner = Clients.constellation(hub, "galaxy-1");
        RawWsClient polite = RawWsClient.connect(hub.wsUri())) {
      polite.sendText(ClientFrames.registerDevice("dev-raw"));
      Clients.assertRegistered(polite.readMessage());
      // The raw client answers five pings by hand: each time it is pinged again, not closed.
      for (int i = 0; i < 5; i++) {
        RawWsClient.Frame ping = polite.readFrame();
        assertThat(ping.opcode()).as("frame %d", i).isEqualTo(RawWsClient.PING);
        polite.sendPong(ping.payload());
      }
      assertThat(polite.readFrame().opcode()).isEqualTo(RawWsClient.PING);
      // Once it stops answering, it is closed.
      RawWsClient.Frame close = polite.readFrame();
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.IDLE_TIMEOUT);
      ClientRegistry registry = hub.server().registry();
      await().until(() -> !registry.isOnline("dev-raw"));
      // java.net.http answers pings itself: ten idle periods later both are still here.
      await()
          .during(idle.multipliedBy(10))
          .atMost(idle.multipliedBy(20))
          .until(
              () ->
                  !device.isClosed()
                      && !owner.isClosed()
                      && registry.listClients().containsAll(List.of("dev-1", "galaxy-1")));
      Clients.startTask(owner, "galaxy-1", "dev-1", "s1");
      assertThat(Clients.takeTasks(device, 1)).containsExactly("s1");
      device.send(ClientFrames.taskEnd("dev-1", "s1", "{\"ok\":true}"));
      ServerMessage end = owner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    }
  }

  @Test
  void aDeviceThatNeverReadsIsClosedAsASlowConsumerAndCleanedUpWhileOthersAreServed() {
    try (TestHub hub =
            TestHub.start(
                b ->
                    b.set(SLOW_CONSUMER_TIMEOUT, Duration.ofMillis(500))
                        .set(WRITE_BUFFER_LOW, 8 * 1024)
                        .set(WRITE_BUFFER_HIGH, 16 * 1024)
                        .set(SLOW_CONSUMER_MAX_BYTES, 1L << 30));
        RawWsClient slow = RawWsClient.connect(hub.wsUri(), 4096);
        WsClient owner = Clients.constellation(hub, "galaxy-1");
        WsClient other = Clients.device(hub, "dev-ok")) {
      slow.sendText(ClientFrames.registerDevice("dev-slow"));
      Clients.assertRegistered(slow.readMessage());
      // From now on the slow device reads nothing.

      SlowConsumerFlood flood =
          SlowConsumerFlood.run(hub, owner, "galaxy-1", "dev-slow", other, "dev-ok", 400);

      assertSlowDeviceCleanedUp(hub, flood);
      flood.roundTrip(other, "dev-ok", "after");
      assertThat(flood.servedMeanwhile).isGreaterThan(1);
    }
  }

  /** The slow device is gone, every task it had failed once at its owner, nothing is left. */
  static void assertSlowDeviceCleanedUp(TestHub hub, SlowConsumerFlood flood) {
    ClientRegistry registry = hub.server().registry();
    assertThat(registry.isOnline("dev-slow")).isFalse();
    assertThat(flood.accepted).isNotEmpty();
    for (String s : flood.accepted) {
      ServerMessage end = flood.ends.get(s);
      assertThat(end.status()).as(s).isEqualTo(TaskStatus.FAILED);
      assertThat(end.error()).as(s).isEqualTo("device_disconnected");
      assertThat(hub.server().sessions().get(s).orElseThrow().state())
          .isEqualTo(SessionState.FAILED);
    }
    assertThat(hub.server().sessions().counts().running()).isZero();
    Clients.assertNoMappingsAndConsistent(registry);
    assertThat(registry.listClients()).containsExactlyInAnyOrder("galaxy-1", "dev-ok");
  }
}
