package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.server.directory.ClientDirectory;
import org.aiphub.server.testing.ManualDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A registration whose claim the {@link ClientDirectory} answers later: the connection handler
 * sends nothing until the answer, holds the frames that arrive meanwhile, and answers them in order
 * after the registration reply; a refused claim closes the connection without answering them, and a
 * connection gone meanwhile releases its claim once it is answered.
 */
class ConnectionHandlerClaimTest {
  private static final String DEVICE = "dev-1";

  private final ManualDirectory directory = new ManualDirectory();
  private final RouterFixture hub = new RouterFixture(DuplicatePolicy.REJECT, directory);
  private final ConnectionHandler handler =
      new ConnectionHandler(
          hub.router, Duration.ofSeconds(10), 20, new RecordingConnectionEvents(), null);
  private final EmbeddedChannel channel = new EmbeddedChannel(handler);

  @AfterEach
  void close() {
    channel.finishAndReleaseAll();
  }

  private static ClientMessage register() {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(DEVICE)
        .metadata(Map.of("platform", "linux"))
        .build();
  }

  private static ClientMessage heartbeat() {
    return ClientMessage.builder(ClientMessageType.HEARTBEAT, TaskStatus.OK)
        .clientId(DEVICE)
        .build();
  }

  private static ClientMessage commandResults() {
    return ClientMessage.builder(ClientMessageType.COMMAND_RESULTS, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(DEVICE)
        .build();
  }

  private List<Object> out() {
    channel.runPendingTasks();
    List<Object> out = new ArrayList<>();
    for (Object o; (o = channel.readOutbound()) != null; ) {
      out.add(o);
    }
    return out;
  }

  @Test
  void framesSentWhileTheClaimIsOpenAreAnsweredInOrderAfterTheReply() {
    channel.writeInbound(register());
    channel.writeInbound(heartbeat());
    channel.writeInbound(commandResults());
    channel.writeInbound(heartbeat());

    assertThat(out()).isEmpty();
    assertThat(handler.state()).isEqualTo(ConnectionHandler.State.AWAITING_REGISTER);
    assertThat(hub.registry.isOnline(DEVICE)).isFalse();

    directory.claimed(DEVICE);
    List<Object> out = out();

    assertThat(handler.state()).isEqualTo(ConnectionHandler.State.REGISTERED);
    assertThat(out).allSatisfy(o -> assertThat(o).isInstanceOf(ServerMessage.class));
    assertThat(out)
        .map(o -> ((ServerMessage) o).type())
        .containsExactly(
            ServerMessageType.HEARTBEAT, // the registration reply
            ServerMessageType.HEARTBEAT,
            ServerMessageType.ERROR,
            ServerMessageType.HEARTBEAT);
    assertThat(((ServerMessage) out.get(2)).error()).contains("command_results");
    assertThat(hub.registry.isDeviceConnected(DEVICE)).isTrue();
  }

  @Test
  void aClaimHeldElsewhereRefusesAndClosesWithoutAnsweringTheHeldFrames() {
    channel.writeInbound(register());
    channel.writeInbound(heartbeat());

    directory.heldElsewhere(DEVICE, new ClientDirectory.HeldElsewhere("node-b", null));
    List<Object> out = out();

    try {
      assertThat(out).hasSize(2);
      assertThat(out.get(0)).isInstanceOf(ServerMessage.class);
      ServerMessage error = (ServerMessage) out.get(0);
      assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(error.error()).contains("hub node 'node-b'");
      assertThat(out.get(1)).isInstanceOf(CloseWebSocketFrame.class);
      assertThat(((CloseWebSocketFrame) out.get(1)).statusCode()).isEqualTo(1008);
      assertThat(hub.registry.isOnline(DEVICE)).isFalse();
    } finally {
      out.forEach(ReferenceCountUtil::release);
    }
  }

  @Test
  void aConnectionGoneBeforeTheAnswerReleasesItsClaim() {
    channel.writeInbound(register());
    channel.close();
    assertThat(directory.releases()).isEmpty();

    directory.claimed(DEVICE);
    channel.runPendingTasks();

    assertThat(directory.releases())
        .singleElement()
        .satisfies(r -> assertThat(r.clientId()).isEqualTo(DEVICE));
    assertThat(hub.registry.isOnline(DEVICE)).isFalse();
    assertThat(hub.departures()).isEmpty();
  }

  @Test
  void aClaimUnansweredForTheRegistrationTimeoutClosesAndReleasesWhenAnswered() {
    channel.freezeTime();
    channel.writeInbound(register());
    channel.advanceTimeBy(10, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    List<Object> out = out();

    try {
      assertThat(out).singleElement().isInstanceOf(CloseWebSocketFrame.class);
      assertThat(((CloseWebSocketFrame) out.get(0)).statusCode()).isEqualTo(1008);
    } finally {
      out.forEach(ReferenceCountUtil::release);
    }
    directory.claimed(DEVICE);
    channel.runPendingTasks();

    assertThat(directory.releases())
        .singleElement()
        .satisfies(r -> assertThat(r.clientId()).isEqualTo(DEVICE));
    assertThat(hub.registry.isOnline(DEVICE)).isFalse();
  }
}
