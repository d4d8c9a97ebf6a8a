package org.aiphub.bench.baseline;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentMap;

/**
 * Per-connection handler of {@link FloorRelay}: byte-level substring scans only, so the relay does
 * the least work a WebSocket hop can do.
 */
final class FloorRelayHandler extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final ByteBuf REGISTER = ascii("\"type\":\"register\"");
  private static final ByteBuf CLIENT_ID = ascii("\"client_id\":\"");
  private static final ByteBuf TARGET_ID = ascii("\"target_id\":\"");
  private static final ByteBuf OK = ascii("{\"type\":\"heartbeat\",\"status\":\"ok\"}");

  private final ConcurrentMap<String, Channel> peers;
  private String id;

  FloorRelayHandler(ConcurrentMap<String, Channel> peers) {
    this.peers = peers;
  }

  private static ByteBuf ascii(String s) {
    return Unpooled.unreleasableBuffer(
        Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.US_ASCII)).asReadOnly());
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    if (!(frame instanceof TextWebSocketFrame) && !(frame instanceof BinaryWebSocketFrame)) {
      return;
    }
    ByteBuf content = frame.content();
    if (ByteBufUtil.indexOf(REGISTER, content) >= 0) {
      String clientId = value(content, CLIENT_ID);
      if (clientId != null) {
        id = clientId;
        peers.put(clientId, ctx.channel());
      }
      ctx.writeAndFlush(new TextWebSocketFrame(OK.duplicate()));
      return;
    }
    String target = value(content, TARGET_ID);
    Channel peer = target == null ? null : peers.get(target);
    if (peer != null) {
      peer.writeAndFlush(frame.retain());
    }
  }

  /** The string after {@code key} up to the next quote (ids carry no escapes). */
  private static String value(ByteBuf content, ByteBuf key) {
    int at = ByteBufUtil.indexOf(key, content);
    if (at < 0) {
      return null;
    }
    int from = at + key.readableBytes();
    int end = content.indexOf(from, content.writerIndex(), (byte) '"');
    return end < 0 ? null : content.toString(from, end - from, StandardCharsets.UTF_8);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (id != null) {
      peers.remove(id, ctx.channel());
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
