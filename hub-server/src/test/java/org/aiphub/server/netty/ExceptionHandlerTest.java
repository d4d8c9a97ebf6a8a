package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ExceptionHandlerTest {
  private final RouterFixture hub = new RouterFixture();
  private UserEventRecorder recorder = new UserEventRecorder(true);

  /** recorder -> connection -> exceptions, as at the end of the real pipeline. */
  private EmbeddedChannel withConnection() {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline().addLast("recorder", recorder);
    ch.pipeline()
        .addLast(
            ChannelHandlerNames.CONNECTION,
            new ConnectionHandler(hub.router, Duration.ofSeconds(10), 20, ConnectionEvents.NONE));
    ch.pipeline().addLast(ChannelHandlerNames.EXCEPTIONS, new ExceptionHandler());
    return ch;
  }

  /** recorder -> exceptions, as in the plain HTTP pipeline. */
  private EmbeddedChannel withoutConnection() {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline().addLast("recorder", recorder);
    ch.pipeline().addLast(ChannelHandlerNames.EXCEPTIONS, new ExceptionHandler());
    return ch;
  }

  static Stream<Arguments> quiet() {
    return Stream.of(
        Arguments.of(new IOException("Connection reset by peer")),
        Arguments.of(new ClosedChannelException()),
        Arguments.of(ConnectionClosingException.INSTANCE),
        Arguments.of(new DecoderException(new IOException("wrapped"))),
        Arguments.of(new CorruptedFrameException("bad frame")));
  }

  @ParameterizedTest
  @MethodSource("quiet")
  void ioAndBrokenFrameErrorsCloseQuietly(Throwable cause) {
    EmbeddedChannel ch = withConnection();

    ch.pipeline().fireExceptionCaught(cause);

    assertThat(ch.isOpen()).isFalse();
    assertThat(recorder.closeRequests()).isEmpty();
    assertThat(ch.<Object>readOutbound()).as("no close frame").isNull();
    assertFalse(ch.finish());
  }

  @Test
  void aTooLongFrameClosesWith1009ThroughTheConnectionHandler() {
    EmbeddedChannel ch = withConnection();

    ch.pipeline().fireExceptionCaught(new TooLongFrameException("frame too large"));

    assertThat(recorder.closeRequests())
        .containsExactly(new CloseRequest(CloseCodes.MESSAGE_TOO_BIG, "message too big", false));
    assertThat(CloseCodes.MESSAGE_TOO_BIG).isEqualTo(WebSocketCloseStatus.MESSAGE_TOO_BIG.code());
    assertCloseFrame(ch.readOutbound(), 1009, "message too big");
    assertThat(ch.isOpen()).isFalse();
    assertFalse(ch.finish());
  }

  static Stream<Arguments> brokenFrames() {
    return Stream.of(
        Arguments.of(WebSocketCloseStatus.PROTOCOL_ERROR, "invalid close code 1005", 1002),
        Arguments.of(WebSocketCloseStatus.INVALID_PAYLOAD_DATA, "bytes are not UTF-8", 1007),
        Arguments.of(WebSocketCloseStatus.MESSAGE_TOO_BIG, "max frame length exceeded", 1009));
  }

  // Netty's decoder and UTF-8 validator no longer close by themselves (closeOnProtocolViolation
  // off): for a broken close frame they sent no close frame at all, just a TCP close.
  @ParameterizedTest
  @MethodSource("brokenFrames")
  void aBrokenWebSocketFrameClosesWithItsCodeThroughTheConnectionHandler(
      WebSocketCloseStatus status, String message, int code) {
    EmbeddedChannel ch = withConnection();

    ch.pipeline().fireExceptionCaught(new CorruptedWebSocketFrameException(status, message));

    assertThat(recorder.closeRequests()).containsExactly(new CloseRequest(code, message, false));
    assertCloseFrame(ch.readOutbound(), code, message);
    assertThat(ch.isOpen()).isFalse();
    assertFalse(ch.finish());
  }

  @Test
  void aBrokenFrameReasonIsCutToWhatACloseFrameHolds() {
    EmbeddedChannel ch = withConnection();

    ch.pipeline()
        .fireExceptionCaught(
            new CorruptedWebSocketFrameException(
                WebSocketCloseStatus.PROTOCOL_ERROR, "x".repeat(300) + "\u00e9"));

    assertCloseFrame(ch.readOutbound(), 1002, "x".repeat(123));
    recorder = new UserEventRecorder(true);
    EmbeddedChannel other = withConnection();
    other
        .pipeline()
        .fireExceptionCaught(
            new CorruptedWebSocketFrameException(
                WebSocketCloseStatus.INVALID_PAYLOAD_DATA, (String) null));
    assertCloseFrame(
        other.readOutbound(), 1007, WebSocketCloseStatus.INVALID_PAYLOAD_DATA.reasonText());
    assertFalse(ch.finish());
    assertFalse(other.finish());
  }

  @Test
  void aTooLongFrameWrappedInADecoderExceptionIsRecognised() {
    EmbeddedChannel ch = withConnection();

    ch.pipeline().fireExceptionCaught(new DecoderException(new TooLongFrameException("big")));

    assertThat(recorder.closeRequests()).extracting(CloseRequest::code).containsExactly(1009);
    assertCloseFrame(ch.readOutbound(), 1009, "message too big");
    assertFalse(ch.finish());
  }

  @Test
  void anUnexpectedErrorClosesWith1011() {
    EmbeddedChannel ch = withConnection();

    ch.pipeline().fireExceptionCaught(new IllegalStateException("bug"));

    assertThat(recorder.closeRequests())
        .containsExactly(new CloseRequest(CloseCodes.INTERNAL_ERROR, "internal error", false));
    assertCloseFrame(ch.readOutbound(), 1011, "internal error");
    assertThat(ch.isOpen()).isFalse();
    assertFalse(ch.finish());
  }

  @Test
  void anUnexpectedDecoderErrorClosesWith1011() {
    EmbeddedChannel ch = withConnection();

    ch.pipeline().fireExceptionCaught(new DecoderException(new IllegalArgumentException("x")));

    assertThat(recorder.closeRequests()).extracting(CloseRequest::code).containsExactly(1011);
    assertCloseFrame(ch.readOutbound(), 1011, "internal error");
    assertFalse(ch.finish());
  }

  @Test
  void withoutAConnectionHandlerErrorsJustClose() {
    for (Throwable cause :
        List.<Throwable>of(new TooLongFrameException("big"), new IllegalStateException("bug"))) {
      recorder = new UserEventRecorder(true);
      EmbeddedChannel ch = withoutConnection();

      ch.pipeline().fireExceptionCaught(cause);

      assertThat(ch.isOpen()).as("after %s", cause).isFalse();
      assertThat(recorder.closeRequests()).isEmpty();
      assertThat(ch.<Object>readOutbound()).isNull();
      assertFalse(ch.finish());
    }
  }

  @Test
  void oneInstanceServesManyChannels() {
    ExceptionHandler shared = new ExceptionHandler();
    EmbeddedChannel a = new EmbeddedChannel(shared);
    EmbeddedChannel b = new EmbeddedChannel(shared);

    a.pipeline().fireExceptionCaught(new IOException("a"));

    assertThat(a.isOpen()).isFalse();
    assertThat(b.isOpen()).isTrue();
    assertFalse(a.finish());
    assertFalse(b.finish());
  }

  private static void assertCloseFrame(Object o, int code, String reason) {
    assertThat(o).isInstanceOf(CloseWebSocketFrame.class);
    CloseWebSocketFrame f = (CloseWebSocketFrame) o;
    try {
      assertThat(f.statusCode()).isEqualTo(code);
      assertThat(f.reasonText()).isEqualTo(reason);
    } finally {
      f.release();
    }
  }
}
