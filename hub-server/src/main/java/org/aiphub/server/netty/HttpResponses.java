package org.aiphub.server.netty;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.aiphub.core.json.JsonValues;

/** JSON HTTP responses, written with keep-alive handled the same way everywhere. */
public final class HttpResponses {
  // Non-ASCII goes out as \\uXXXX escapes: the same JSON strings, but an id (or any text) that
  // looks like another in a terminal or log viewer shows what it holds (README, "Security").
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

  private HttpResponses() {}

  /**
   * A response whose body is the JSON form of {@code body} (a JSON value), in a buffer from the
   * channel's allocator. Whatever goes wrong while it is written (the allocator running out of
   * direct memory while the buffer grows, a value that is not JSON), the buffer is released before
   * the error leaves: only a returned response holds memory, and its writer releases it.
   */
  public static FullHttpResponse json(
      ChannelHandlerContext ctx, HttpResponseStatus status, Object body) {
    return json(ctx.alloc(), status, body);
  }

  /** {@link #json(ChannelHandlerContext, HttpResponseStatus, Object)} from {@code alloc}. */
  static FullHttpResponse json(ByteBufAllocator alloc, HttpResponseStatus status, Object body) {
    ByteBuf buf = alloc.buffer(256);
    boolean handedOver = false;
    try {
      try (JsonGenerator g = JSON.createGenerator((OutputStream) new ByteBufOutputStream(buf))) {
        JsonValues.write(g, body);
      }
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, buf);
      r.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
          .set(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes())
          .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
          .set("X-Content-Type-Options", "nosniff");
      handedOver = true;
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (!handedOver) {
        buf.release(); // on every failure, Errors (OutOfDirectMemoryError) included
      }
    }
  }

  /**
   * A small JSON error answer on the heap, for when an answer could not be built (typically: the
   * direct memory for it could not be had). It takes nothing from the channel's allocator, and the
   * connection closes after it.
   */
  public static FullHttpResponse fallback(HttpResponseStatus status, String message) {
    byte[] body =
        ("{\"error\":\"" + message.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
        .set("X-Content-Type-Options", "nosniff")
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
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
