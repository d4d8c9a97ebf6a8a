package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.timeout.IdleStateEvent;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LivenessHandlerTest {
  private static final Duration PING_TIMEOUT = Duration.ofSeconds(20);

  private final RecordingConnectionEvents events = new RecordingConnectionEvents();
  private final UserEventRecorder recorder = new UserEventRecorder(false);
  private final EmbeddedChannel channel =
      new EmbeddedChannel(new LivenessHandler(PING_TIMEOUT, events), recorder);

  {
    channel.freezeTime();
  }

  private void idle() {
    channel.pipeline().fireUserEventTriggered(IdleStateEvent.READER_IDLE_STATE_EVENT);
  }

  private void advance(long millis) {
    channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    channel.runScheduledPendingTasks();
  }

  private void assertPingWritten() {
    Object out = channel.readOutbound();
    assertThat(out).isInstanceOf(PingWebSocketFrame.class);
    ((PingWebSocketFrame) out).release();
  }

  @Test
  void aSilentConnectionIsPingedThenClosedAfterThePingTimeout() {
    idle();

    assertPingWritten();
    assertThat(recorder.events()).as("the idle event is consumed").isEmpty();

    advance(PING_TIMEOUT.toMillis() - 1);
    assertThat(recorder.events()).isEmpty();

    advance(1);
    assertThat(recorder.events())
        .containsExactly(new CloseRequest(CloseCodes.IDLE_TIMEOUT, "idle timeout", true));
    assertThat(CloseCodes.IDLE_TIMEOUT).isEqualTo(4001);
    assertThat(events.lines()).containsExactly("idleClosed");
    assertFalse(channel.finish());
  }

  @Test
  void anyInboundFrameBeforeTheDeadlineDisarmsIt() {
    idle();
    assertPingWritten();
    advance(PING_TIMEOUT.toMillis() / 2);

    TextWebSocketFrame frame = new TextWebSocketFrame("{}");
    channel.writeInbound(frame);

    assertThat(channel.<Object>readInbound()).as("the frame is passed on").isSameAs(frame);
    frame.release();
    advance(PING_TIMEOUT.toMillis() * 3);
    assertThat(recorder.events()).isEmpty();
    assertThat(events.lines()).isEmpty();
    assertFalse(channel.finish());
  }

  @Test
  void aPongDisarmsItToo() {
    idle();
    assertPingWritten();

    PongWebSocketFrame pong = new PongWebSocketFrame(Unpooled.copiedBuffer("x", UTF_8));
    channel.writeInbound(pong);
    ((PongWebSocketFrame) channel.readInbound()).release();

    advance(PING_TIMEOUT.toMillis() * 2);
    assertThat(recorder.closeRequests()).isEmpty();
    assertFalse(channel.finish());
  }

  @Test
  void aSecondIdleEventWhileWaitingSendsNoSecondPing() {
    idle();
    assertPingWritten();
    advance(1_000);

    idle();

    assertThat(channel.<Object>readOutbound()).isNull();
    advance(PING_TIMEOUT.toMillis() - 1_000);
    assertThat(recorder.closeRequests()).hasSize(1);
    assertFalse(channel.finish());
  }

  @Test
  void afterADisarmTheNextIdlePeriodPingsAgain() {
    idle();
    assertPingWritten();
    channel.writeInbound(new TextWebSocketFrame("{}"));
    ((TextWebSocketFrame) channel.readInbound()).release();

    idle();

    assertPingWritten();
    advance(PING_TIMEOUT.toMillis());
    assertThat(recorder.closeRequests()).hasSize(1);
    assertFalse(channel.finish());
  }

  @Test
  void otherIdleStatesAndOtherEventsPassThrough() {
    Object custom = new Object();
    channel.pipeline().fireUserEventTriggered(IdleStateEvent.WRITER_IDLE_STATE_EVENT);
    channel.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
    channel.pipeline().fireUserEventTriggered(custom);

    assertThat(channel.<Object>readOutbound()).isNull();
    assertThat(recorder.events())
        .containsExactly(
            IdleStateEvent.WRITER_IDLE_STATE_EVENT, IdleStateEvent.ALL_IDLE_STATE_EVENT, custom);
    assertFalse(channel.finish());
  }

  @Test
  void aChannelThatClosedIsNotClosedAgain() {
    idle();
    assertPingWritten();

    channel.close();
    advance(PING_TIMEOUT.toMillis() * 2);

    assertThat(recorder.closeRequests()).isEmpty();
    assertThat(events.lines()).isEmpty();
    assertFalse(channel.finish());
  }
}
