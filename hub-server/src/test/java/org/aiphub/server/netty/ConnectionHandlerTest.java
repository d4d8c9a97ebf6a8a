package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.TaskRouter;
import org.junit.jupiter.api.Test;

class ConnectionHandlerTest {
  private static final Duration REGISTRATION_TIMEOUT = Duration.ofSeconds(10);
  private static final int BAD_FRAMES_PER_MINUTE = 3;

  private RouterFixture hub = new RouterFixture();
  private final RecordingConnectionEvents events = new RecordingConnectionEvents();

  /** A channel: [held writes] -> connection handler. */
  private final class Conn {
    final HeldWrites held = new HeldWrites();
    final ConnectionHandler handler =
        new ConnectionHandler(hub.router, REGISTRATION_TIMEOUT, BAD_FRAMES_PER_MINUTE, events);
    final EmbeddedChannel channel = new EmbeddedChannel(held, handler);

    Conn() {
      channel.freezeTime();
    }

    void in(Object msg) {
      channel.writeInbound(msg);
    }

    /** Everything written so far, in order. */
    List<Object> out() {
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
      ServerMessage reply = nextMessage();
      assertThat(reply.type())
          .as("registration reply to %s", m)
          .isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(handler.state()).isEqualTo(ConnectionHandler.State.REGISTERED);
      return this;
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

  private static FrameRejected badFrame() {
    return new FrameRejected(
        new AipDecodeException(AipDecodeException.Reason.MALFORMED_JSON, "malformed JSON: oops"));
  }

  private static void assertCloseFrame(Object o, int code, String reason) {
    try {
      checkCloseFrame(o, code, reason);
    } finally {
      ((CloseWebSocketFrame) o).release();
    }
  }

  /** Like {@link #assertCloseFrame} but leaves the frame to its holder. */
  private static void checkCloseFrame(Object o, int code, String reason) {
    assertThat(o).isInstanceOf(CloseWebSocketFrame.class);
    CloseWebSocketFrame f = (CloseWebSocketFrame) o;
    assertThat(f.statusCode()).isEqualTo(code);
    assertThat(f.reasonText()).isEqualTo(reason);
  }

  private static WebSocketServerProtocolHandler.HandshakeComplete handshake() {
    return new WebSocketServerProtocolHandler.HandshakeComplete(
        "/ws?token=k", new DefaultHttpHeaders(), null);
  }

  // ---------------------------------------------------------------------------- registration

  @Test
  void aRegisterMessageRegistersAndTheReplyIsTheFirstOutboundMessage() {
    Conn c = new Conn();
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.AWAITING_REGISTER);

    c.in(registerDevice("d1"));

    List<Object> out = c.out();
    assertThat(out).hasSize(1);
    ServerMessage reply = (ServerMessage) out.get(0);
    assertThat(reply.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(reply.status()).isEqualTo(TaskStatus.OK);
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.REGISTERED);
    assertThat(c.handler.identity()).isEqualTo(new Identity("d1", ClientType.DEVICE, null));
    assertThat(hub.registry.getClient("d1")).containsSame(c.handler.connection());
    assertThat(c.channel.isOpen()).isTrue();
    assertThat(events.lines()).containsExactly("messageIn register");

    // later frames go to the router with the bound identity
    c.in(heartbeat("d1"));
    assertThat(c.nextMessage().type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertFalse(c.channel.finish());
    assertThat(hub.registry.isOnline("d1")).isFalse();
  }

  @Test
  void heldOutcomesFollowTheRegistrationReply() {
    Conn device = new Conn().register(registerDevice("d1"));
    Conn owner = new Conn().register(registerConstellation("c1"));
    owner.in(
        ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
            .clientType(ClientType.CONSTELLATION)
            .clientId("c1")
            .targetId("d1")
            .sessionId("s1")
            .request("go")
            .build());
    assertThat(owner.nextMessage().sessionId()).isEqualTo("s1");
    assertThat(device.nextMessage().type()).isEqualTo(ServerMessageType.TASK);
    owner.channel.close(); // the session is cancelled and its outcome held for c1
    assertThat(device.nextMessage().error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);

    Conn back = new Conn();
    back.in(registerConstellation("c1"));

    List<Object> out = back.out();
    assertThat(out).hasSize(2);
    assertThat(((ServerMessage) out.get(0)).type()).isEqualTo(ServerMessageType.HEARTBEAT);
    ServerMessage end = (ServerMessage) out.get(1);
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.sessionId()).isEqualTo("s1");
    assertThat(end.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
    assertThat(hub.sessions.counts().held()).isZero();
    assertFalse(back.channel.finish());
    assertFalse(device.channel.finish());
    assertFalse(owner.channel.finish());
  }

  @Test
  void aFirstMessageThatIsNotRegisterFailsTheRegistration() {
    Conn c = new Conn();

    c.in(heartbeat("d1"));

    List<Object> out = c.out();
    assertThat(out).hasSize(2);
    ServerMessage error = (ServerMessage) out.get(0);
    assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(error.error()).contains("must be a register message");
    assertCloseFrame(out.get(1), 1008, "registration failed");
    assertThat(c.channel.isOpen()).as("closed once the close frame is out").isFalse();
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertThat(hub.registry.listClients()).isEmpty();
    assertThat(hub.departures()).isEmpty();
    assertFalse(c.channel.finish());
  }

  @Test
  void aFailedRegistrationIsClosingUntilItsCloseFrameIsOut() {
    Conn c = new Conn();
    c.held.hold();

    c.in(heartbeat("d1"));

    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSING);
    assertThat(c.channel.isOpen()).isTrue();
    assertThat(c.held.heldMessages()).hasSize(2);
    assertThat(c.held.heldMessages().get(0)).isInstanceOf(ServerMessage.class);
    assertThat(c.held.heldMessages().get(1)).isInstanceOf(CloseWebSocketFrame.class);

    c.held.releaseAll();

    List<Object> out = c.out();
    assertThat(out).hasSize(2);
    assertCloseFrame(out.get(1), 1008, "registration failed");
    assertThat(c.channel.isOpen()).isFalse();
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertFalse(c.channel.finish());
  }

  @Test
  void aBadFirstFrameFailsTheRegistration() {
    Conn c = new Conn();

    c.in(badFrame());

    List<Object> out = c.out();
    assertThat(out).hasSize(2);
    ServerMessage error = (ServerMessage) out.get(0);
    assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(error.error()).isEqualTo("registration failed: malformed JSON: oops");
    assertCloseFrame(out.get(1), 1008, "registration failed");
    assertThat(events.lines())
        .containsExactly("frameRejected malformed_json", "registrationRefused bad_frame");
    assertThat(c.channel.isOpen()).isFalse();
    assertFalse(c.channel.finish());
  }

  @Test
  void aDuplicateRegistrationIsClosedAndTheFirstStays() {
    Conn first = new Conn().register(registerDevice("d1"));
    Conn second = new Conn();

    second.in(registerDevice("d1"));

    List<Object> out = second.out();
    assertThat(((ServerMessage) out.get(0)).error()).contains("already registered");
    assertCloseFrame(out.get(1), 1008, "registration failed");
    assertThat(hub.registry.getClient("d1")).containsSame(first.handler.connection());
    assertThat(first.channel.isOpen()).isTrue();
    assertFalse(second.channel.finish());
    assertFalse(first.channel.finish());
  }

  @Test
  void aSocketThatDoesNotRegisterInTimeIsClosedWith1008() {
    Conn c = new Conn();
    c.channel.pipeline().fireUserEventTriggered(handshake());

    c.channel.advanceTimeBy(REGISTRATION_TIMEOUT.toMillis() - 1, TimeUnit.MILLISECONDS);
    c.channel.runScheduledPendingTasks();
    assertThat(c.channel.isOpen()).isTrue();
    assertThat(c.out()).isEmpty();

    c.channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
    c.channel.runScheduledPendingTasks();

    List<Object> out = c.out();
    assertThat(out).hasSize(1);
    assertCloseFrame(out.get(0), 1008, "registration timeout");
    assertThat(c.channel.isOpen()).isFalse();
    assertThat(events.lines()).containsExactly("registrationTimedOut");
    assertFalse(c.channel.finish());
  }

  @Test
  void registeringInTimeStopsTheTimer() {
    Conn c = new Conn();
    c.channel.pipeline().fireUserEventTriggered(handshake());
    c.register(registerDevice("d1"));

    c.channel.advanceTimeBy(1, TimeUnit.HOURS);
    c.channel.runScheduledPendingTasks();

    assertThat(c.channel.isOpen()).isTrue();
    assertThat(c.out()).isEmpty();
    assertThat(events.lines()).doesNotContain("registrationTimedOut");
    assertFalse(c.channel.finish());
  }

  // ------------------------------------------------------------------------------ bad frames

  @Test
  void badFramesAfterRegistrationAreAnsweredUntilTheBudgetIsSpent() {
    Conn c = new Conn().register(registerDevice("d1"));

    for (int i = 0; i < BAD_FRAMES_PER_MINUTE; i++) {
      c.in(badFrame());
      ServerMessage error = c.nextMessage();
      assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(error.error()).isEqualTo("malformed JSON: oops");
      assertThat(c.channel.isOpen()).isTrue();
    }
    assertThat(hub.registry.isOnline("d1")).isTrue();

    c.in(badFrame());

    List<Object> out = c.out();
    assertThat(out).hasSize(2);
    assertThat(((ServerMessage) out.get(0)).type()).isEqualTo(ServerMessageType.ERROR);
    assertCloseFrame(out.get(1), 1008, "too many bad frames");
    assertThat(events.lines()).contains("tooManyBadFrames");
    assertThat(c.channel.isOpen()).isFalse();
    assertThat(hub.registry.isOnline("d1")).as("the disconnect path ran").isFalse();
    assertFalse(c.channel.finish());
  }

  // ---------------------------------------------------------------------- the close handshake

  @Test
  void aClientCloseIsEchoedAndTheChannelClosed() {
    Conn c = new Conn().register(registerDevice("d1"));
    CloseWebSocketFrame close = new CloseWebSocketFrame(1000, "bye");

    c.in(close);

    assertThat(close.refCnt()).as("the client's frame is released").isZero();
    List<Object> out = c.out();
    assertThat(out).hasSize(1);
    assertCloseFrame(out.get(0), 1000, "");
    assertThat(c.channel.isOpen()).isFalse();
    assertThat(hub.departures()).containsExactly("d1");
    assertFalse(c.channel.finish());
  }

  @Test
  void aCloseWithoutStatusIsEchoedWithoutStatus() {
    Conn c = new Conn();

    c.in(new CloseWebSocketFrame());

    List<Object> out = c.out();
    assertThat(out).hasSize(1);
    CloseWebSocketFrame echo = (CloseWebSocketFrame) out.get(0);
    try {
      assertThat(echo.statusCode()).isEqualTo(-1);
      assertThat(echo.content().readableBytes()).isZero();
    } finally {
      echo.release();
    }
    assertThat(c.channel.isOpen()).isFalse();
    assertFalse(c.channel.finish());
  }

  @Test
  void afterTheClientsCloseNothingElseIsWritten() {
    Conn c = new Conn().register(registerDevice("d1"));
    c.held.hold();
    c.in(new CloseWebSocketFrame(1001, "going"));
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSING);
    assertThat(c.channel.isOpen()).isTrue();

    ChannelFuture write = c.channel.writeAndFlush(heartbeatReply());
    AtomicInteger failures = new AtomicInteger();
    c.handler.connection().send(heartbeatReply());
    c.handler.connection().deliver(heartbeatReply(), failures::incrementAndGet);
    c.in(heartbeat("d1")); // a frame after the close is not answered

    assertThat(write.isDone()).isTrue();
    assertThat(write.isSuccess()).isFalse();
    assertThat(write.cause()).isInstanceOf(ConnectionClosingException.class);
    assertThat(failures).hasValue(1);
    assertThat(c.held.heldMessages()).hasSize(1);
    assertThat(c.held.heldMessages().get(0)).isInstanceOf(CloseWebSocketFrame.class);

    c.held.releaseAll();
    List<Object> out = c.out();
    assertThat(out).hasSize(1);
    assertCloseFrame(out.get(0), 1001, "");
    assertThat(c.channel.isOpen()).isFalse();
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertFalse(c.channel.finish());
  }

  @Test
  void aClientCloseWhoseEchoNeverLeavesIsForcedClosedAfterThreeSeconds() {
    Conn c = new Conn().register(registerDevice("d1"));
    c.held.hold(); // the client stopped reading after its close

    c.in(new CloseWebSocketFrame(1000, "bye"));
    c.channel.advanceTimeBy(2_999, TimeUnit.MILLISECONDS);
    c.channel.runScheduledPendingTasks();
    assertThat(c.channel.isOpen()).isTrue();

    c.channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
    c.channel.runScheduledPendingTasks();

    assertThat(c.channel.isOpen()).isFalse();
    assertThat(hub.departures()).containsExactly("d1");
    checkCloseFrame(c.held.heldMessages().get(0), 1000, "");
    c.held.discardAll();
    assertFalse(c.channel.finish());
  }

  private ServerMessage heartbeatReply() {
    return hub.router.messages().heartbeatOk();
  }

  @Test
  void aCloseRequestClosesWithItsCode() {
    Conn c = new Conn().register(registerDevice("d1"));

    c.channel.pipeline().fireUserEventTriggered(new CloseRequest(4000, "replaced", false));

    List<Object> out = c.out();
    assertThat(out).hasSize(1);
    assertCloseFrame(out.get(0), 4000, "replaced");
    assertThat(c.channel.isOpen()).isFalse();
    assertFalse(c.channel.finish());
  }

  @Test
  void aSecondCloseRequestIsIgnored() {
    Conn c = new Conn().register(registerDevice("d1"));
    c.held.hold();

    c.channel.pipeline().fireUserEventTriggered(new CloseRequest(4001, "idle timeout", false));
    c.channel.pipeline().fireUserEventTriggered(new CloseRequest(1011, "internal error", false));

    assertThat(c.held.heldMessages()).hasSize(1);
    c.held.releaseAll();
    assertCloseFrame(c.channel.readOutbound(), 4001, "idle timeout");
    assertFalse(c.channel.finish());
  }

  @Test
  void anImmediateCloseRequestDoesNotWaitForTheCloseFrame() {
    Conn c = new Conn().register(registerDevice("d1"));
    c.held.hold(); // a peer that reads nothing: the close frame never leaves

    c.channel.pipeline().fireUserEventTriggered(new CloseRequest(1008, "slow consumer", true));

    assertThat(c.channel.isOpen()).isFalse();
    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertThat(hub.registry.isOnline("d1")).isFalse();
    assertThat(c.held.heldMessages()).hasSize(1);
    checkCloseFrame(c.held.heldMessages().get(0), 1008, "slow consumer");
    c.held.discardAll();
    assertFalse(c.channel.finish());
  }

  @Test
  void aCloseFrameThatNeverLeavesIsForcedClosedAfterThreeSeconds() {
    Conn c = new Conn().register(registerDevice("d1"));
    c.held.hold();

    c.channel.pipeline().fireUserEventTriggered(new CloseRequest(4000, "replaced", false));
    c.channel.advanceTimeBy(2_999, TimeUnit.MILLISECONDS);
    c.channel.runScheduledPendingTasks();
    assertThat(c.channel.isOpen()).isTrue();

    c.channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
    c.channel.runScheduledPendingTasks();

    assertThat(c.channel.isOpen()).isFalse();
    assertThat(hub.registry.isOnline("d1")).isFalse();
    checkCloseFrame(c.held.heldMessages().get(0), 4000, "replaced");
    c.held.discardAll();
    assertFalse(c.channel.finish());
  }

  // ------------------------------------------------------------------------------- departure

  @Test
  void closingARegisteredChannelRunsTheDisconnectPathExactlyOnce() {
    Conn c = new Conn().register(registerDevice("d1"));

    c.channel.close();
    c.channel.close();

    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertThat(hub.registry.isOnline("d1")).isFalse();
    assertThat(hub.departures()).containsExactly("d1");
    assertFalse(c.channel.finish());
    assertThat(hub.departures()).containsExactly("d1");
  }

  @Test
  void closingAnUnregisteredChannelDepartsNobody() {
    Conn c = new Conn();

    assertFalse(c.channel.finish());

    assertThat(c.handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
    assertThat(hub.departures()).isEmpty();
  }

  @Test
  void aDeviceChannelClosingFailsItsSessionsForTheirOwner() {
    Conn device = new Conn().register(registerDevice("d1"));
    Conn owner = new Conn().register(registerConstellation("c1"));
    owner.in(
        ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
            .clientType(ClientType.CONSTELLATION)
            .clientId("c1")
            .targetId("d1")
            .sessionId("s1")
            .request("go")
            .build());
    owner.out();

    device.channel.close();

    ServerMessage end = owner.nextMessage();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
    assertThat(hub.sessions.get("s1").orElseThrow().state()).isEqualTo(SessionState.FAILED);
    device.out();
    assertFalse(device.channel.finish());
    assertFalse(owner.channel.finish());
  }

  @Test
  void aTakenOverConnectionIsClosedWith4000AndItsCleanupSparesTheNewOne() {
    hub = new RouterFixture(DuplicatePolicy.TAKEOVER);
    Conn old = new Conn().register(registerDevice("d1"));
    Conn fresh = new Conn();

    fresh.in(registerDevice("d1"));

    assertThat(fresh.nextMessage().type()).isEqualTo(ServerMessageType.HEARTBEAT);
    List<Object> out = old.out();
    assertThat(out).hasSize(1);
    assertCloseFrame(out.get(0), 4000, "replaced by a newer connection");
    assertThat(old.channel.isOpen()).isFalse();
    assertThat(hub.registry.getClient("d1")).containsSame(fresh.handler.connection());
    assertThat(hub.departures()).isEmpty();
    assertFalse(old.channel.finish());
    assertThat(hub.registry.isOnline("d1")).isTrue();
    assertFalse(fresh.channel.finish());
    assertThat(hub.departures()).containsExactly("d1");
  }

  // ----------------------------------------------------------------------------- with codec

  @Test
  void withTheCodecFramesGoInAndOutAsJson() {
    ConnectionHandler handler =
        new ConnectionHandler(hub.router, REGISTRATION_TIMEOUT, BAD_FRAMES_PER_MINUTE, events);
    EmbeddedChannel channel = new EmbeddedChannel(new AipFrameCodec(new AipCodec()), handler);

    channel.writeInbound(
        new TextWebSocketFrame(
            "{\"type\":\"register\",\"status\":\"ok\",\"client_id\":\"d1\",\"target_id\":null}"));

    TextWebSocketFrame reply = channel.readOutbound();
    try {
      assertThat(reply.text())
          .startsWith("{\"type\":\"heartbeat\",\"status\":\"ok\",\"timestamp\":");
    } finally {
      reply.release();
    }
    channel.writeInbound(new TextWebSocketFrame("{oops"));
    TextWebSocketFrame error = channel.readOutbound();
    try {
      assertThat(error.text())
          .startsWith("{\"type\":\"error\",\"status\":\"error\",\"error\":\"malformed JSON");
    } finally {
      error.release();
    }
    assertThat(channel.isOpen()).isTrue();
    assertFalse(channel.finish());
  }

  @Test
  void withTheCodecAGarbageFirstFrameGetsAnErrorThenA1008Close() {
    ConnectionHandler handler =
        new ConnectionHandler(hub.router, REGISTRATION_TIMEOUT, BAD_FRAMES_PER_MINUTE, events);
    EmbeddedChannel channel = new EmbeddedChannel(new AipFrameCodec(new AipCodec()), handler);
    TextWebSocketFrame garbage = new TextWebSocketFrame("\u0000garbage");

    channel.writeInbound(garbage);

    assertThat(garbage.refCnt()).isZero();
    TextWebSocketFrame error = channel.readOutbound();
    try {
      assertThat(error.content().toString(UTF_8))
          .startsWith("{\"type\":\"error\",\"status\":\"error\",\"error\":\"registration failed: ");
    } finally {
      error.release();
    }
    assertCloseFrame(channel.readOutbound(), 1008, "registration failed");
    assertThat(channel.isOpen()).isFalse();
    assertFalse(channel.finish());
  }
}
