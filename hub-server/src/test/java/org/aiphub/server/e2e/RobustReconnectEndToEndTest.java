package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.aiphub.server.config.Settings.PROBE_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.RawWsClient.Frame;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Robust reconnect (issue 6): under the reject policy a duplicate registration pings the socket
 * holding the id. A holder whose socket died half-open (registered, then answers no ping, reads
 * nothing and never closes: a {@link RawWsClient} that does nothing) is cleaned up after the probe
 * time, its sessions fail and their owners are told, and the newcomer takes the id and its traffic,
 * with the frames it sent meanwhile answered in order. A live holder keeps its place and the
 * newcomer is refused as before. The takeover policy needs no probe.
 */
class RobustReconnectEndToEndTest {
  private static final Duration PROBE = Duration.ofMillis(300);

  /** For live holders: long enough that no scheduling hiccup can make a live holder look dead. */
  private static final Duration LONG_PROBE = Duration.ofSeconds(30);

  private static final String DEVICE = "device_windows_001";
  private static final String OWNER = "galaxy-1";

  private static final String DUPLICATE_TEXT = duplicateText();

  private static String duplicateText() {
    try {
      return new AipCodec().decodeServer(Fixtures.text("server-error.json")).error();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A device registered over a raw socket that then plays dead: no pong, no read, no close. */
  private static RawWsClient halfOpenDevice(TestHub hub, String id) {
    RawWsClient raw = RawWsClient.connect(hub.wsUri());
    raw.sendText(ClientFrames.registerDevice(id));
    Clients.assertRegistered(raw.readMessage());
    return raw;
  }

  private static String deviceInfoResponse(String id, String hostname) {
    return "{\"type\":\"device_info_response\",\"status\":\"ok\",\"client_type\":\"device\","
        + "\"client_id\":\""
        + id
        + "\",\"metadata\":{\"system_info\":{\"device_id\":\""
        + id
        + "\",\"platform\":\"linux\",\"hostname\":\""
        + hostname
        + "\"}}}";
  }

  private static String deviceInfoRequest(String owner, String device) {
    return "{\"type\":\"device_info_request\",\"status\":\"ok\",\"client_type\":\"constellation\","
        + "\"client_id\":\""
        + owner
        + "\",\"target_id\":\""
        + device
        + "\",\"request_id\":\"info-1\"}";
  }

  private static void assertDeviceDisconnected(ServerMessage m, String sessionId) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(m.sessionId()).isEqualTo(sessionId);
    assertThat(m.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
  }

  // --------------------------------------------------------------------------- half-open holder

  @Test
  void aHalfOpenDeviceIsReplacedAfterTheProbeAndItsSessionsFail() {
    try (TestHub hub = TestHub.start(b -> b.set(PROBE_TIMEOUT, PROBE));
        RawWsClient dead = halfOpenDevice(hub, DEVICE);
        WsClient owner = Clients.constellation(hub, OWNER)) {
      ClientRegistry registry = hub.server().registry();
      ClientConnection deadConn = registry.getClient(DEVICE).orElseThrow();
      Clients.startTask(owner, OWNER, DEVICE, "s1"); // reaches the dead socket's buffer only

      try (WsClient fresh = hub.connect()) {
        // Register, and at once more frames: they wait for the probe, then are answered.
        fresh.send(ClientFrames.registerDevice(DEVICE));
        fresh.send(ClientFrames.heartbeat(DEVICE));
        fresh.send(deviceInfoResponse(DEVICE, "FRESH-HOST"));
        fresh.send(
            "{\"type\":\"task\",\"status\":\"continue\",\"client_type\":\"device\","
                + "\"client_id\":\""
                + DEVICE
                + "\",\"request\":\"devices cannot\"}");

        Clients.assertRegistered(fresh.next());
        ServerMessage ack = fresh.next();
        assertThat(ack.type()).as("heartbeat ack").isEqualTo(ServerMessageType.HEARTBEAT);
        assertThat(ack.sessionId()).isNull();
        ServerMessage refused = fresh.next();
        assertThat(refused.type()).isEqualTo(ServerMessageType.ERROR);
        assertThat(refused.error()).contains("devices cannot start tasks");

        // The old holder's session failed and its owner was told.
        assertDeviceDisconnected(owner.next(), "s1");
        assertThat(hub.server().sessions().get("s1").orElseThrow().state())
            .isEqualTo(SessionState.FAILED);

        // The dead socket saw its task, the probe's ping and a close 4001, then the hub hung up.
        List<Frame> frames = dead.readUntilEof();
        assertThat(frames)
            .extracting(Frame::opcode)
            .containsExactly(RawWsClient.TEXT, RawWsClient.PING, RawWsClient.CLOSE);
        assertThat(frames.get(0).message().sessionId()).isEqualTo("s1");
        assertThat(frames.get(2).closeCode()).isEqualTo(CloseCodes.IDLE_TIMEOUT);
        assertThat(frames.get(2).closeReason()).isEqualTo("replaced: did not answer a ping");

        // The newcomer holds the id: its info update counted, and new tasks reach it.
        assertThat(registry.getClient(DEVICE)).isPresent().get().isNotSameAs(deadConn);
        owner.send(deviceInfoRequest(OWNER, DEVICE));
        ServerMessage info = owner.next();
        assertThat(info.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
        assertThat(info.status()).isEqualTo(TaskStatus.OK);
        assertThat(info.result()).isInstanceOf(Map.class);
        assertThat(((Map<?, ?>) info.result()).get("hostname")).isEqualTo("FRESH-HOST");
        Clients.startTask(owner, OWNER, DEVICE, "s2");
        assertThat(Clients.takeTasks(fresh, 1)).containsExactly("s2");
        fresh.send(ClientFrames.taskEnd(DEVICE, "s2", "{\"by\":\"fresh\"}"));
        ServerMessage end = owner.next();
        assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(end.result()).isEqualTo(Map.of("by", "fresh"));

        assertThat(registry.listClients()).containsExactlyInAnyOrder(DEVICE, OWNER);
        Clients.assertNoMappingsAndConsistent(registry);
      }
    }
  }

  @Test
  void withTheProbeOffEvenAHalfOpenHolderKeepsItsPlace() {
    try (TestHub hub = TestHub.start(b -> b.set(PROBE_TIMEOUT, Duration.ZERO));
        RawWsClient dead = halfOpenDevice(hub, DEVICE);
        WsClient fresh = hub.connect()) {
      ClientConnection deadConn = hub.server().registry().getClient(DEVICE).orElseThrow();

      fresh.send(ClientFrames.registerDevice(DEVICE));
      ServerMessage refused = fresh.next();
      assertThat(refused.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(refused.error()).isEqualTo(DUPLICATE_TEXT);

      assertThat(hub.server().registry().getClient(DEVICE)).containsSame(deadConn);
      // Stopping the hub ends the dead socket's stream: it holds the shutdown close, no ping.
      hub.server().shutdown();
      assertThat(dead.readUntilEof())
          .extracting(Frame::opcode)
          .as("no probe ping reached the holder")
          .containsExactly(RawWsClient.CLOSE);
    }
  }

  @Test
  void aHalfOpenConstellationIsReplacedAndTheTaskItsSuccessorSentAtOnceIsServed() {
    try (TestHub hub = TestHub.start(b -> b.set(PROBE_TIMEOUT, PROBE));
        WsClient device = Clients.device(hub, DEVICE);
        RawWsClient dead = RawWsClient.connect(hub.wsUri())) {
      dead.sendText(ClientFrames.registerConstellation(OWNER));
      Clients.assertRegistered(dead.readMessage());
      dead.sendText(ClientFrames.task(OWNER, DEVICE, "s1", "first"));
      assertThat(dead.readMessage().sessionId()).isEqualTo("s1");
      assertThat(Clients.takeTasks(device, 1)).containsExactly("s1");
      // From here on the old constellation's socket is silent.

      try (WsClient fresh = hub.connect()) {
        fresh.send(ClientFrames.registerConstellation(OWNER));
        fresh.send(ClientFrames.task(OWNER, DEVICE, "s2", "second"));

        Clients.assertRegistered(fresh.next());
        // s1 was cancelled with its owner's old socket; its outcome was held for the id.
        ServerMessage held = fresh.next();
        assertThat(held.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(held.sessionId()).isEqualTo("s1");
        assertThat(held.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
        ServerMessage ack = fresh.next();
        assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
        assertThat(ack.sessionId()).isEqualTo("s2");

        ServerMessage cancel = device.next();
        assertThat(cancel.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(cancel.sessionId()).isEqualTo("s1");
        assertThat(Clients.takeTasks(device, 1)).containsExactly("s2");
        device.send(ClientFrames.taskEnd(DEVICE, "s2", "{\"ok\":true}"));
        ServerMessage end = fresh.next();
        assertThat(end.sessionId()).isEqualTo("s2");
        assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);

        List<Frame> frames = dead.readUntilEof();
        assertThat(frames).extracting(Frame::opcode).contains(RawWsClient.PING);
        assertThat(frames.get(frames.size() - 1).closeCode()).isEqualTo(CloseCodes.IDLE_TIMEOUT);
        Clients.assertNoMappingsAndConsistent(hub.server().registry());
      }
    }
  }

  // -------------------------------------------------------------------------------- live holder

  @Test
  void aLiveHolderKeepsItsPlaceAndTheNewcomerIsRefused() {
    try (TestHub hub = TestHub.start(b -> b.set(PROBE_TIMEOUT, LONG_PROBE));
        WsClient holder = Clients.device(hub, DEVICE); // java.net.http answers pings itself
        WsClient owner = Clients.constellation(hub, OWNER);
        WsClient newcomer = hub.connect()) {
      ClientRegistry registry = hub.server().registry();
      ClientConnection live = registry.getClient(DEVICE).orElseThrow();
      Clients.startTask(owner, OWNER, DEVICE, "s1");
      assertThat(Clients.takeTasks(holder, 1)).containsExactly("s1");

      newcomer.send(ClientFrames.registerDevice(DEVICE));
      try {
        newcomer.send(ClientFrames.heartbeat(DEVICE));
      } catch (RuntimeException outputClosed) {
        // The holder answered the probe so fast that the refusal and close came first: the
        // heartbeat then never left, which is as good as it being dropped with the refusal.
      }

      ServerMessage error = newcomer.next();
      assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(error.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(error.error()).isEqualTo(DUPLICATE_TEXT);
      assertThat(newcomer.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(Clients.drain(newcomer)).as("the heartbeat went with the refusal").isEmpty();

      // The holder, its session and its traffic are untouched.
      assertThat(registry.getClient(DEVICE)).containsSame(live);
      assertThat(holder.isClosed()).isFalse();
      holder.send(ClientFrames.taskEnd(DEVICE, "s1", "{\"ok\":true}"));
      ServerMessage end = owner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.sessionId()).isEqualTo("s1");
      Clients.startTask(owner, OWNER, DEVICE, "s2");
      assertThat(Clients.takeTasks(holder, 1)).containsExactly("s2");
      assertThat(registry.listClients()).containsExactlyInAnyOrder(DEVICE, OWNER);
    }
  }

  @Test
  void theHoldersAnswerToThePingIsWhatKeepsIt() {
    try (TestHub hub = TestHub.start(b -> b.set(PROBE_TIMEOUT, LONG_PROBE));
        RawWsClient holder = halfOpenDevice(hub, DEVICE);
        WsClient newcomer = hub.connect()) {
      ClientConnection live = hub.server().registry().getClient(DEVICE).orElseThrow();
      newcomer.send(ClientFrames.registerDevice(DEVICE));

      // The hub pings the holder and holds the newcomer's registration until it hears back.
      Frame ping = holder.readFrame();
      assertThat(ping.opcode()).isEqualTo(RawWsClient.PING);
      assertThat(newcomer.pending()).as("no answer before the holder's").isZero();
      holder.sendPong(ping.payload());

      assertThat(newcomer.next().error()).isEqualTo(DUPLICATE_TEXT);
      assertThat(newcomer.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(hub.server().registry().getClient(DEVICE)).containsSame(live);
      holder.sendText(ClientFrames.heartbeat(DEVICE));
      assertThat(holder.readMessage().type()).isEqualTo(ServerMessageType.HEARTBEAT);
    }
  }

  // ------------------------------------------------------------------------------------ takeover

  @Test
  void underTakeoverTheNewcomerWinsAtOnceWithoutProbingTheHolder() {
    try (TestHub hub =
            TestHub.start(
                b ->
                    b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER)
                        .set(PROBE_TIMEOUT, LONG_PROBE));
        RawWsClient old = halfOpenDevice(hub, DEVICE);
        WsClient owner = Clients.constellation(hub, OWNER)) {
      Clients.startTask(owner, OWNER, DEVICE, "s1");
      try (WsClient fresh = Clients.device(hub, DEVICE)) {
        // No ping: the old socket got its task, then the takeover close, then the hub hung up.
        List<Frame> frames = old.readUntilEof();
        assertThat(frames)
            .extracting(Frame::opcode)
            .containsExactly(RawWsClient.TEXT, RawWsClient.CLOSE);
        assertThat(frames.get(1).closeCode()).isEqualTo(CloseCodes.TAKEN_OVER);
        // Under takeover the session moves to the new socket instead of failing.
        fresh.send(ClientFrames.taskEnd(DEVICE, "s1", "{\"by\":\"fresh\"}"));
        ServerMessage end = owner.next();
        assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(hub.server().registry().listClients()).containsExactlyInAnyOrder(DEVICE, OWNER);
      }
    }
  }
}
