package org.aiphub.server.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.ReferenceCountUtil;

/**
 * Between an accepted upgrade request and the end of its handshake, lets only WebSocket frames
 * through. A client must send nothing before it has read the handshake's answer (RFC 6455 4.1), yet
 * bytes pipelined behind the upgrade request reach the pipeline while the HTTP codec is still in
 * it: decoded as another HTTP request, or handed on undecoded when the codec leaves. Neither may
 * reach a handler that would serve them (the handshaker, the HTTP API) or vanish while the socket
 * waits for a registration: the connection is failed at once with 1002. Sits behind Netty's
 * protocol handler, so the handshaker has taken the accepted request before anything gets here, and
 * steps out when the handshake completes (from then on only the WebSocket decoder reads the
 * socket). One instance per channel.
 */
final class UpgradeGate extends ChannelInboundHandlerAdapter {
  private boolean refused;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof WebSocketFrame) {
      ctx.fireChannelRead(msg);
      return;
    }
    ReferenceCountUtil.release(msg);
    if (!refused) {
      refused = true;
      ctx.pipeline()
          .fireUserEventTriggered(
              new CloseRequest(
                  CloseCodes.PROTOCOL_ERROR,
                  "data before the WebSocket handshake completed",
                  false));
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
      ctx.pipeline().remove(this);
    }
    ctx.fireUserEventTriggered(evt);
  }
}
