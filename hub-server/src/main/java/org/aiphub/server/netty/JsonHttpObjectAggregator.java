package org.aiphub.server.netty;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Netty's aggregator, but a body over the limit gets the hub's JSON error (413 {@code {"error":
 * ...}}) instead of an empty response, and the connection closes, since the rest of the body is
 * still on its way.
 */
public final class JsonHttpObjectAggregator extends HttpObjectAggregator {
  /** Longest wait for a client to stop sending an oversized body before the socket closes. */
  static final long LINGER_MILLIS = 5_000;

  private final int maxContentLength;

  /** An aggregator for bodies up to {@code maxContentLength} bytes. */
  public JsonHttpObjectAggregator(int maxContentLength) {
    super(maxContentLength);
    this.maxContentLength = maxContentLength;
  }

  /** "Expect: 100-continue" with a declared length over the limit: the JSON 413, then close. */
  @Override
  protected Object newContinueResponse(
      HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
    Object r = super.newContinueResponse(start, maxContentLength, pipeline);
    if (r instanceof FullHttpResponse
        && ((FullHttpResponse) r).status().code()
            == HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code()) {
      ReferenceCountUtil.release(r);
      FullHttpResponse json = tooLarge(pipeline.channel().alloc());
      json.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      return json;
    }
    if (r instanceof FullHttpResponse
        && ((FullHttpResponse) r).status().code() == HttpResponseStatus.EXPECTATION_FAILED.code()) {
      // An Expect other than 100-continue: Netty's 417 has an empty body; errors are JSON.
      ReferenceCountUtil.release(r);
      byte[] body =
          "{\"error\":\"unsupported Expect header; only 100-continue is supported\"}"
              .getBytes(StandardCharsets.UTF_8);
      FullHttpResponse json =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.EXPECTATION_FAILED,
              pipeline.channel().alloc().buffer(body.length).writeBytes(body));
      json.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
          .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
      return json;
    }
    return r;
  }

  @Override
  protected boolean closeAfterContinueResponse(Object msg) {
    return msg instanceof FullHttpResponse
            && ((FullHttpResponse) msg).status().code()
                == HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code()
        || super.closeAfterContinueResponse(msg);
  }

  private FullHttpResponse tooLarge(ByteBufAllocator alloc) {
    byte[] body =
        ("{\"error\":\"request body larger than max_body_bytes (" + maxContentLength + " bytes)\"}")
            .getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
            alloc.buffer(body.length).writeBytes(body));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return r;
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized)
      throws Exception {
    if (!(oversized instanceof HttpRequest)) {
      super.handleOversizedMessage(ctx, oversized);
      return;
    }
    FullHttpResponse r = tooLarge(ctx.alloc());
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(r).addListener((ChannelFutureListener) f -> lingeringClose(ctx, f));
  }

  /**
   * Closes after the 413 without losing it. Closing while the client is still sending the body
   * leaves unread bytes, and the kernel then answers with a reset that can destroy the 413 before
   * the client reads it (clients see "broken pipe" or an empty response). So only the output is
   * shut (the client sees the end of the answer), the rest of the body is read and dropped (the
   * aggregator discards it), and the channel closes when the client closes its side, or after
   * {@link #LINGER_MILLIS} at the latest.
   */
  private static void lingeringClose(ChannelHandlerContext ctx, ChannelFuture written) {
    Channel ch = ctx.channel();
    if (!written.isSuccess() || !(ch instanceof DuplexChannel)) {
      ch.close();
      return;
    }
    ((DuplexChannel) ch).shutdownOutput();
    ctx.executor().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
  }
}
