package org.aiphub.server.netty;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.aiphub.core.json.JsonValues;

/** JSON HTTP responses, written with keep-alive handled the same way everywhere. */
public final class HttpResponses {
  // Non-ASCII goes out as \\uXXXX escapes: the same JSON strings, but an id (or any text) that
  // looks like another in a terminal or log viewer shows what it holds (README, "Security").
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

  private HttpResponses() {}

  /** A response whose body is the JSON form of {@code body} (a JSON value). */
  public static FullHttpResponse json(
      ChannelHandlerContext ctx, HttpResponseStatus status, Object body) {
    ByteBuf buf = ctx.alloc().buffer(256);
    try (JsonGenerator g =
        JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(buf))) {
      JsonValues.write(g, body);
    } catch (IOException e) {
      buf.release();
      throw new UncheckedIOException(e);
    }
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, buf);
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes())
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
        .set("X-Content-Type-Options", "nosniff");
    return r;
  }

  /** {@code {"error": message}} with the given status. */
  public static FullHttpResponse error(
      ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
    return json(ctx, status, Map.of("error", message));
  }

  /**
   * Writes a response, keeping the connection open only when the request asked for keep-alive and
   * {@code close} is false; a {@code HEAD} request gets it {@link #withoutBody}.
   */
  public static void send(
      ChannelHandlerContext ctx, HttpRequest req, FullHttpResponse response, boolean close) {
    if (req != null && HttpMethod.HEAD.equals(req.method())) {
      response = withoutBody(response);
    }
    send(ctx, !close && req != null && HttpUtil.isKeepAlive(req), response);
  }

  /**
   * The answer to a {@code HEAD} request: the status and headers of {@code response}, its
   * Content-Length included, and no body (RFC 9110 9.3.2). Releases {@code response}.
   */
  public static FullHttpResponse withoutBody(FullHttpResponse response) {
    try {
      return response.replace(Unpooled.EMPTY_BUFFER);
    } finally {
      response.release();
    }
  }

  /** Writes a response, closing the connection afterwards unless {@code keepAlive}. */
  public static void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse response) {
    if (keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      ctx.writeAndFlush(response);
    } else {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
