package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import org.junit.jupiter.api.Test;

class UpgradeGateTest {
  private final UserEventRecorder recorder = new UserEventRecorder(false);
  private final EmbeddedChannel channel = new EmbeddedChannel(new UpgradeGate(), recorder);

  @Test
  void framesPassAndTheGateStepsOutWhenTheHandshakeCompletes() {
    TextWebSocketFrame frame = new TextWebSocketFrame("{}");
    channel.writeInbound(frame);
    assertThat(channel.<Object>readInbound()).isSameAs(frame);
    frame.release();

    WebSocketServerProtocolHandler.HandshakeComplete done =
        new WebSocketServerProtocolHandler.HandshakeComplete("/ws", new DefaultHttpHeaders(), null);
    channel.pipeline().fireUserEventTriggered(done);

    assertThat(recorder.events()).containsExactly(done);
    assertThat(channel.pipeline().get(UpgradeGate.class)).as("stepped out").isNull();
    assertThat(recorder.closeRequests()).isEmpty();
    assertFalse(channel.finish());
  }

  @Test
  void anHttpRequestOrRawBytesBeforeTheHandshakeCompletesFailTheConnectionOnce() {
    FullHttpRequest pipelined =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ws");
    ByteBuf undecoded = Unpooled.copiedBuffer("GET /api/clients HTTP/1.1\r\n", UTF_8);

    assertFalse(
        channel.writeInbound(
            new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ws"),
            pipelined,
            undecoded));

    assertThat(pipelined.refCnt()).isZero();
    assertThat(undecoded.refCnt()).isZero();
    assertThat(recorder.closeRequests())
        .containsExactly(
            new CloseRequest(
                CloseCodes.PROTOCOL_ERROR, "data before the WebSocket handshake completed", false));
    assertFalse(channel.finish());
  }
}
