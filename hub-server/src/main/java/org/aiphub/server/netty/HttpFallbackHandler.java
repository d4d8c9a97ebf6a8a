package org.aiphub.server.netty;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

/** Answers every plain HTTP request with a JSON 404 naming the AIP endpoint. */
@ChannelHandler.Sharable
public final class HttpFallbackHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private final String wsPath;

  /** A handler that points callers at {@code wsPath}. */
  public HttpFallbackHandler(String wsPath) {
    this.wsPath = wsPath;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    HttpResponses.send(
        ctx,
        req,
        HttpResponses.error(
            ctx, HttpResponseStatus.NOT_FOUND, "no such route; the AIP endpoint is " + wsPath),
        false);
  }
}
