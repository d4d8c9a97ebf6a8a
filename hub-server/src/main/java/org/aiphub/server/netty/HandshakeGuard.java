package org.aiphub.server.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.function.Consumer;
import org.aiphub.server.security.ApiKey;

/**
 * Stands before the WebSocket upgrade: a request for the AIP path must be a GET upgrade carrying
 * the API key ({@code ?token=KEY} or {@code Authorization: Bearer KEY}); anything else on that path
 * gets a JSON error and no upgrade. A good request gets the WebSocket handlers installed behind
 * this guard, which then steps out of the pipeline. Requests for other paths go on to the HTTP API.
 * One instance per channel.
 */
public final class HandshakeGuard extends ChannelInboundHandlerAdapter {
  private final String wsPath;
  private final ApiKey apiKey;
  private final Consumer<ChannelHandlerContext> installWebSocket;

  /**
   * A guard.
   *
   * @param installWebSocket adds the WebSocket handlers right after this guard's context
   */
  public HandshakeGuard(
      String wsPath, ApiKey apiKey, Consumer<ChannelHandlerContext> installWebSocket) {
    this.wsPath = wsPath;
    this.apiKey = apiKey;
    this.installWebSocket = installWebSocket;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest)) {
      ctx.fireChannelRead(msg);
      return;
    }
    FullHttpRequest req = (FullHttpRequest) msg;
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    if (!uri.path().equals(wsPath)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      if (!HttpMethod.GET.equals(req.method())) {
        refuse(
            ctx,
            req,
            HttpResponseStatus.METHOD_NOT_ALLOWED,
            "the AIP endpoint only accepts GET WebSocket upgrades");
        return;
      }
      if (!apiKey.matches(presentedKey(req, uri))) {
        refuse(
            ctx,
            req,
            HttpResponseStatus.UNAUTHORIZED,
            "missing or invalid API key: pass ?token=KEY or Authorization: Bearer KEY");
        return;
      }
      if (!req.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
        refuse(ctx, req, HttpResponseStatus.BAD_REQUEST, "expected a WebSocket upgrade request");
        return;
      }
    } catch (RuntimeException e) {
      ReferenceCountUtil.release(req);
      throw e;
    }
    installWebSocket.accept(ctx);
    ctx.fireChannelRead(req);
    ctx.pipeline().remove(this);
  }

  private static void refuse(
      ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String why) {
    try {
      io.netty.handler.codec.http.FullHttpResponse r = HttpResponses.error(ctx, status, why);
      if (status == HttpResponseStatus.UNAUTHORIZED) {
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
      }
      HttpResponses.send(ctx, req, r, true);
    } finally {
      ReferenceCountUtil.release(req);
    }
  }

  /** The key from {@code ?token=} (first value) or an {@code Authorization: Bearer} header. */
  static String presentedKey(FullHttpRequest req, QueryStringDecoder uri) {
    List<String> token = uri.parameters().get("token");
    if (token != null && !token.isEmpty()) {
      return token.get(0);
    }
    return bearer(req.headers().get(HttpHeaderNames.AUTHORIZATION));
  }

  /** The credentials of a {@code Bearer} authorization header, or null. */
  public static String bearer(String authorization) {
    if (authorization == null || authorization.length() < 7) {
      return null;
    }
    if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return authorization.substring(7).trim();
  }
}
