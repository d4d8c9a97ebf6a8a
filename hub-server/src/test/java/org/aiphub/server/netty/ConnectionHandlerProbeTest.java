package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.route.TaskRouter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The contested-registration path of {@link ConnectionHandler}: under the reject policy a
 * registration whose id is online pings the holder (through its {@link LivenessHandler}) and waits;
 * a holder that answers keeps its place, one that stays silent for the probe time (or closes) is
 * cleaned up and replaced, and frames the newcomer sent meanwhile are answered, in order, once it
 * wins. Every channel runs on frozen time, so nothing here waits on a clock.
 */
class ConnectionHandlerProbeTest {
  private static final Duration PROBE = Duration.ofMillis(300);
  private static final String DEVICE = "dev-1";
  private static final String OWNER = "galaxy-1";

  private RouterFixture hub = new RouterFixture(DuplicatePolicy.REJECT);
  private final RecordingConnectionEvents events = new RecordingConnectionEvents();
  private final List<Conn> conns = new ArrayList<>();

  /** A channel: liveness -> connection handler, as in the hub's pipeline. */
  private final class Conn {
    final ConnectionHandler handler;
    final EmbeddedChannel channel;

    Conn(Duration probeTimeout) {
      handler = new ConnectionHandler(hub.router, Duration.ofSeconds(10), 20, events, probeTimeout);
      channel = new EmbeddedChannel(new LivenessHandler(Duration.ofSeconds(10), events), handler);
      channel.freezeTime();
      conns.add(this);
    }

    Conn() {
      this(PROBE);
    }

    void in(Object msg) {
      channel.writeInbound(msg);
    }

    /** Runs what other channels queued on this one's event loop (a finished probe). */
    void runTasks() {
      channel.runPendingTasks();
    }

    /** Everything written so far, in order. */
    List<Object> out() {
      channel.runPendingTasks();
      List<Object> out = new ArrayList<>();
      for (Object o; (o = channel.readOutbound()) != null; ) {
        out.add(o);
      }
      return out;
    }

    ServerMessage nextMessage() {
      Object o = channel.readOutbound();
      assertThat(o).isInstanceOf(ServerMessage.class);
      return (ServerMessage) o;
    }

    Conn register(ClientMessage m) {
      in(m);
      Object reply = channel.readOutbound();
      assertThat(reply).as("registration reply to %s", m).isInstanceOf(ServerMessage.class);
      assertThat(((ServerMessage) reply).type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(handler.state()).isEqualTo(ConnectionHandler.State.REGISTERED);
      return this;
    }

    /** The ping the hub sent to probe this (holder) connection. */
    void expectPing() {
      List<Object> out = out();
      try {
        assertThat(out).hasSize(1);
        assertThat(out.get(0)).isInstanceOf(PingWebSocketFrame.class);
      } finally {
        out.forEach(ReferenceCountUtil::release);
      }
    }

    /** Lets the probe time pass on this (holder) connection's loop. */
    void staySilentForTheProbeTime() {
      channel.advanceTimeBy(PROBE.toMillis(), TimeUnit.MILLISECONDS);
      channel.runScheduledPendingTasks();
    }
  }

  @AfterEach
  void closeChannels() {
    for (Conn c : conns) {
      c.channel.finishAndReleaseAll();
    }
  }

  private static ClientMessage registerDevice(String id) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(id)
        .metadata(Map.of("platform", "linux"))
        .build();
  }

  private static ClientMessage registerConstellation(String id) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.CONSTELLATION)
        .clientId(id)
        .build();
  }

  private static ClientMessage heartbeat(String id) {
    return ClientMessage.builder(ClientMessageType.HEARTBEAT, TaskStatus.OK).clientId(id).build();
  }

  private static ClientMessage task(String sessionId) {
    return ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
        .clientType(ClientType.CONSTELLATION)
        .clientId(OWNER)
        .targetId(DEVICE)
        .sessionId(sessionId)
        .request("go")
        .build();
  }

  private static FrameRejected badFrame() {
    return new FrameRejected(
        new AipDecodeException(AipDecodeException.Reason.MALFORMED_JSON, "malformed JSON: oops"));
  }

  private static void assertCloseFrame(Object o, int code, String reason) {
    try {
      assertThat(o).isInstanceOf(CloseWebSocketFrame.class);
      CloseWebSocketFrame f = (CloseWebSocketFrame) o;
      assertThat(f.statusCode()).isEqualTo(code);
      assertThat(f.reasonText()).isEqualTo(reason);
    } finally {
      ReferenceCountUtil.release(o);
    }
  }

  private static ServerMessage message(Object o) {
    assertThat(o).isInstanceOf(ServerMessage.class);
    return (ServerMessage) o;
  }

  private static void assertRefusedAsDuplicate(List<Object> out) {
    assertThat(out).hasSize(2);
    ServerMessage error = message(out.get(0));
    assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(error.error()).contains("already registered");
    assertCloseFrame(out.get(1), CloseCodes.POLICY_VIOLATION, "registration failed");
  }

  // ----------------------------------------------------------------------------- live holder

  @Test
  void aHolderThatAnswersThePingKeepsItsPlaceAndTheNewcomerIsRefused() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn();

    newcomer.in(registerDevice(DEVICE));
    newcomer.in(heartbeat(DEVICE)); // held while the holder is probed

    assertThat(newcomer.out()).as("nothing is answered while the holder is probed").isEmpty();
    assertThat(newcomer.handler.state()).isEqualTo(ConnectionHandler.State.AWAITING_REGISTER);
    holder.expectPing();

    holder.in(new PongWebSocketFrame()); // any inbound frame proves the holder alive
    newcomer.runTasks();

    // The held heartbeat is dropped with the refused registration.
    assertRefusedAsDuplicate(newcomer.out());
    assertThat(newcomer.channel.isOpen()).isFalse();
    assertThat(hub.registry.getClient(DEVICE)).containsSame(holder.handler.connection());
    assertThat(holder.channel.isOpen()).isTrue();
    assertThat(holder.out()).isEmpty();
    assertThat(hub.departures()).isEmpty();
    holder.in(heartbeat(DEVICE));
    assertThat(holder.nextMessage().type()).isEqualTo(ServerMessageType.HEARTBEAT);
  }

  // ----------------------------------------------------------------------------- dead holder

  @Test
  void aSilentHolderIsCleanedUpAndReplacedAndHeldFramesAreAnsweredInOrder() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn owner = new Conn().register(registerConstellation(OWNER));
    owner.in(task("s1"));
    assertThat(owner.nextMessage().sessionId()).isEqualTo("s1");
    assertThat(holder.nextMessage().type()).isEqualTo(ServerMessageType.TASK);

    Conn newcomer = new Conn();
    newcomer.in(registerDevice(DEVICE));
    newcomer.in(heartbeat(DEVICE));
    newcomer.in(badFrame());
    newcomer.in(
        ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
            .clientId(DEVICE)
            .request("devices may not")
            .build());
    assertThat(newcomer.out()).isEmpty();
    holder.expectPing();

    holder.staySilentForTheProbeTime();
    newcomer.runTasks();

    // The holder: disconnect path run once, its session failed, its owner told, closed with 4001.
    List<Object> dead = holder.out();
    assertThat(dead).hasSize(1);
    assertCloseFrame(dead.get(0), CloseCodes.IDLE_TIMEOUT, "replaced: did not answer a ping");
    assertThat(holder.channel.isOpen()).isFalse();
    assertThat(hub.departures()).containsExactly(DEVICE);
    assertThat(hub.sessions.get("s1").orElseThrow().state()).isEqualTo(SessionState.FAILED);
    ServerMessage end = owner.nextMessage();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.sessionId()).isEqualTo("s1");
    assertThat(end.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);

    // The newcomer: registered, then every held frame answered in the order it came.
    List<Object> out = newcomer.out();
    assertThat(out).hasSize(4);
    assertThat(message(out.get(0)).type())
        .as("registration reply")
        .isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(message(out.get(1)).type())
        .as("heartbeat ack")
        .isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(message(out.get(2)).error()).as("bad frame").contains("malformed JSON");
    assertThat(message(out.get(3)).error())
        .as("device task")
        .contains("devices cannot start tasks");
    assertThat(newcomer.handler.state()).isEqualTo(ConnectionHandler.State.REGISTERED);
    assertThat(hub.registry.getClient(DEVICE)).containsSame(newcomer.handler.connection());

    // And it gets the traffic.
    owner.in(task("s2"));
    assertThat(owner.nextMessage().sessionId()).isEqualTo("s2");
    ServerMessage s2 = newcomer.nextMessage();
    assertThat(s2.type()).isEqualTo(ServerMessageType.TASK);
    assertThat(s2.sessionId()).isEqualTo("s2");
    assertThat(hub.departures())
        .as("the old socket's own close ran no second cleanup")
        .containsExactly(DEVICE);
  }

  @Test
  void aHolderThatClosesDuringTheProbeIsReplacedWithoutASecondCleanup() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn();
    newcomer.in(registerDevice(DEVICE));
    holder.expectPing();

    holder.channel.close(); // its reset arrives: the probe ends false at once
    newcomer.runTasks();

    List<Object> out = newcomer.out();
    assertThat(out).hasSize(1);
    assertThat(message(out.get(0)).type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(newcomer.handler.state()).isEqualTo(ConnectionHandler.State.REGISTERED);
    assertThat(hub.registry.getClient(DEVICE)).containsSame(newcomer.handler.connection());
    assertThat(hub.departures()).containsExactly(DEVICE);
  }

  @Test
  void aConstellationHolderIsProbedTooAndItsSessionsAreCancelled() {
    Conn device = new Conn().register(registerDevice(DEVICE));
    Conn holder = new Conn().register(registerConstellation(OWNER));
    holder.in(task("s1"));
    assertThat(holder.nextMessage().sessionId()).isEqualTo("s1");
    assertThat(device.nextMessage().type()).isEqualTo(ServerMessageType.TASK);

    Conn newcomer = new Conn();
    newcomer.in(registerConstellation(OWNER));
    newcomer.in(task("s2"));
    holder.expectPing();
    holder.staySilentForTheProbeTime();
    newcomer.runTasks();

    // The device is told to stop s1; it then gets s2, which the newcomer sent while waiting.
    ServerMessage cancel = device.nextMessage();
    assertThat(cancel.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(cancel.sessionId()).isEqualTo("s1");
    assertThat(cancel.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
    assertThat(device.nextMessage().sessionId()).isEqualTo("s2");
    List<Object> out = newcomer.out();
    assertThat(message(out.get(0)).type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(message(out.get(0)).sessionId()).as("registration reply").isNull();
    // The cancelled s1's outcome was held for the owner id and follows the registration reply.
    List<String> sessionIds = new ArrayList<>();
    for (Object o : out.subList(1, out.size())) {
      sessionIds.add(message(o).sessionId());
    }
    assertThat(sessionIds).containsExactlyInAnyOrder("s1", "s2");
    assertThat(hub.registry.getClient(OWNER)).containsSame(newcomer.handler.connection());
  }

  // ------------------------------------------------------------------ the newcomer misbehaves

  @Test
  void aNewcomerFloodingFramesWhileProbedIsClosedAndTheHolderKeepsItsPlace() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn();
    newcomer.in(registerDevice(DEVICE));
    for (int i = 0; i < 33; i++) {
      newcomer.in(heartbeat(DEVICE));
    }
    List<Object> out = newcomer.out();
    assertThat(out).hasSize(1);
    assertCloseFrame(
        out.get(0), CloseCodes.POLICY_VIOLATION, "too many frames before registration");

    holder.expectPing();
    holder.staySilentForTheProbeTime(); // even a silent holder is not replaced for a closed peer
    newcomer.runTasks();

    assertThat(newcomer.out()).isEmpty();
    assertThat(hub.registry.getClient(DEVICE)).containsSame(holder.handler.connection());
    assertThat(holder.channel.isOpen()).isTrue();
    assertThat(hub.departures()).isEmpty();
  }

  @Test
  void aNewcomerThatLeavesDuringTheProbeReplacesNobody() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn();
    newcomer.in(registerDevice(DEVICE));
    holder.expectPing();

    newcomer.channel.close();
    holder.staySilentForTheProbeTime();
    newcomer.runTasks();

    assertThat(newcomer.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertThat(hub.registry.getClient(DEVICE)).containsSame(holder.handler.connection());
    assertThat(holder.channel.isOpen()).isTrue();
    assertThat(holder.out()).isEmpty();
    assertThat(hub.departures()).isEmpty();
  }

  // ------------------------------------------------------------------------- no probe at all

  @Test
  void aDuplicateOfAnotherClientTypeIsRefusedAtOnceWithoutAProbe() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn();
    newcomer.in(registerConstellation(DEVICE));

    assertRefusedAsDuplicate(newcomer.out());
    assertThat(holder.out()).as("no ping").isEmpty();
    assertThat(hub.registry.getClient(DEVICE)).containsSame(holder.handler.connection());
  }

  @Test
  void withoutAProbeTimeTheDuplicateIsRefusedAtOnce() {
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn(null);
    newcomer.in(registerDevice(DEVICE));

    assertRefusedAsDuplicate(newcomer.out());
    assertThat(holder.out()).as("no ping").isEmpty();
  }

  @Test
  void underTheTakeoverPolicyTheNewcomerWinsAtOnceWithoutAProbe() {
    hub = new RouterFixture(DuplicatePolicy.TAKEOVER);
    Conn holder = new Conn().register(registerDevice(DEVICE));
    Conn newcomer = new Conn().register(registerDevice(DEVICE));

    List<Object> old = holder.out();
    assertThat(old).as("a close, and no ping before it").hasSize(1);
    assertCloseFrame(old.get(0), CloseCodes.TAKEN_OVER, "replaced by a newer connection");
    assertThat(hub.registry.getClient(DEVICE)).containsSame(newcomer.handler.connection());
  }
}
