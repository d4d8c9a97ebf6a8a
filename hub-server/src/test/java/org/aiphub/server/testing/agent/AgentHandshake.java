package org.aiphub.server.testing.agent;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * The reference's {@code /ws} endpoint before the upgrade: the {@code token} query parameter must
 * equal the key ({@code secrets.compare_digest}), else the app closes before accepting, which its
 * server (uvicorn 0.17) answers with {@code 403 Forbidden}, an empty {@code text/plain} body and
 * {@code Connection: close}. Any other path is FastAPI's JSON 404.
 */
final class AgentHandshake extends SimpleChannelInboundHandler<FullHttpRequest> {
  private final byte[] key;

  AgentHandshake(String token) {
    super(false);
    this.key = token.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    QueryStringDecoder q = new QueryStringDecoder(req.uri());
    if (!q.path().equals(ReferenceAgentServer.PATH)) {
      req.release();
      byte[] body = "{\"detail\":\"Not Found\"}".getBytes(StandardCharsets.UTF_8);
      reply(ctx, HttpResponseStatus.NOT_FOUND, body, "application/json");
      return;
    }
    List<String> tokens = q.parameters().get("token");
    String token = tokens == null || tokens.isEmpty() ? "" : tokens.get(0);
    if (!MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8), key)) {
      req.release();
      reply(ctx, HttpResponseStatus.FORBIDDEN, new byte[0], "text/plain");
      return;
    }
    ctx.fireChannelRead(req);
  }

  private static void reply(
      ChannelHandlerContext ctx, HttpResponseStatus status, byte[] body, String type) {
    FullHttpResponse res =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    res.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, type)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
  }
}
