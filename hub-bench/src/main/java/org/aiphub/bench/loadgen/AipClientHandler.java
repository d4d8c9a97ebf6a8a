package org.aiphub.bench.loadgen;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler.ClientHandshakeStateEvent;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.concurrent.CompletableFuture;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;

/**
 * Per-connection client logic: after the WebSocket handshake it sends the registration, completes
 * {@code registered} on the first reply ({@code heartbeat ok}) or fails it, and hands every later
 * frame to the client's {@link ClientBehaviour}.
 */
final class AipClientHandler extends SimpleChannelInboundHandler<WebSocketFrame> {
  private final String clientId;
  private final ClientMessage register;
  private final AipCodec codec;
  private final ClientBehaviour behaviour;
  private final long startNanos;
  private final CompletableFuture<WsClient> registered;
  private WsClient client;

  AipClientHandler(
      String clientId,
      ClientMessage register,
      AipCodec codec,
      ClientBehaviour behaviour,
      long startNanos,
      CompletableFuture<WsClient> registered) {
    this.clientId = clientId;
    this.register = register;
    this.codec = codec;
    this.behaviour = behaviour;
    this.startNanos = startNanos;
    this.registered = registered;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt == ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
      client = new WsClient(clientId, ctx.channel(), codec);
      client.send(register);
    } else if (evt == ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
      fail(ctx, "WebSocket handshake timed out");
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    if (!(frame instanceof TextWebSocketFrame) && !(frame instanceof BinaryWebSocketFrame)) {
      return;
    }
    ServerMessage m;
    try {
      m = decode(frame.content());
    } catch (AipDecodeException e) {
      if (registered.isDone()) {
        behaviour.onUndecodable(client, e.getMessage());
      } else {
        fail(ctx, "undecodable registration reply: " + e.getMessage());
      }
      return;
    }
    if (registered.isDone()) {
      behaviour.onMessage(client, m);
    } else if (m.type() == ServerMessageType.HEARTBEAT && m.status() == TaskStatus.OK) {
      client.registrationNanos(System.nanoTime() - startNanos);
      registered.complete(client);
    } else {
      fail(ctx, "registration refused: " + (m.error() == null ? m.type().wire() : m.error()));
    }
  }

  private ServerMessage decode(ByteBuf content) throws AipDecodeException {
    if (content.hasArray()) {
      return codec.decodeServer(
          content.array(), content.arrayOffset() + content.readerIndex(), content.readableBytes());
    }
    return codec.decodeServer(ByteBufUtil.getBytes(content));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (registered.isDone()) {
      if (!registered.isCompletedExceptionally()) {
        behaviour.onClosed(client);
      }
    } else {
      registered.completeExceptionally(
          new LoadGenException("connection closed before the registration reply"));
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    fail(ctx, String.valueOf(cause.getMessage()));
  }

  private void fail(ChannelHandlerContext ctx, String why) {
    registered.completeExceptionally(new LoadGenException(clientId + ": " + why));
    ctx.close();
  }
}
