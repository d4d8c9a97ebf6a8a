package org.aiphub.server.netty;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.json.JsonValues;
import org.aiphub.server.FatalErrors;
import org.aiphub.server.dashboard.DashboardState;

/**
 * The dashboard's live feed: {@code GET /api/events} (with the key) answers a never-ending {@code
 * text/event-stream}: one {@code snapshot} event, then a {@code delta} each second something
 * changed and a chart {@code sample} every two seconds. Every message is encoded once and shared by
 * all viewers. A viewer that stops reading is dropped (its page reconnects and gets a fresh
 * snapshot) rather than buffered for.
 */
public final class EventStream implements AutoCloseable {
  // As the HTTP API: non-ASCII as \\uXXXX escapes (HttpResponses).
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();
  private static final byte[] KEEPALIVE = ": keepalive\n\n".getBytes(StandardCharsets.US_ASCII);

  private final DashboardState state;
  private final ChannelGroup viewers;
  private final ScheduledFuture<?> deltas;
  private final ScheduledFuture<?> samples;
  private final ScheduledFuture<?> keepalive;

  /** A feed whose timers run on {@code executor}. */
  public EventStream(DashboardState state, EventExecutor executor) {
    this.state = state;
    this.viewers = new DefaultChannelGroup("dashboard", executor);
    // Guarded: Netty logs what a timer throws and goes on, which would hide an OutOfMemoryError.
    this.deltas =
        executor.scheduleAtFixedRate(
            FatalErrors.guard(() -> broadcast(state.delta())), 1, 1, TimeUnit.SECONDS);
    this.samples =
        executor.scheduleAtFixedRate(
            FatalErrors.guard(() -> broadcast(state.sample())), 0, 2, TimeUnit.SECONDS);
    this.keepalive =
        executor.scheduleAtFixedRate(FatalErrors.guard(this::keepalive), 15, 15, TimeUnit.SECONDS);
  }

  /** Viewers connected now. */
  public int viewers() {
    return viewers.size();
  }

  /**
   * Turns the request's channel into a feed: headers, then the snapshot. Called on the channel's
   * event loop, so a delta broadcast meanwhile from another thread is written after the snapshot.
   */
  public void subscribe(ChannelHandlerContext ctx) {
    Channel ch = ctx.channel();
    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
        .set("X-Content-Type-Options", "nosniff")
        .set("X-Accel-Buffering", "no");
    HttpUtil.setTransferEncodingChunked(r, true);
    if (ch.pipeline().get(ChannelHandlerNames.HTTP_DEADLINE) != null) {
      ch.pipeline().remove(ChannelHandlerNames.HTTP_DEADLINE); // a feed never "completes"
    }
    ch.write(r);
    // Counted and in the group before the snapshot is taken: every change after it is then both
    // tracked and broadcast to this viewer. The count (not "is the group empty?") decides tracking,
    // so another viewer leaving in between cannot switch it off under this one.
    state.viewerJoined();
    ch.closeFuture().addListener(f -> state.viewerLeft());
    viewers.add(ch);
    ch.writeAndFlush(new DefaultHttpContent(event(ch.alloc(), state.snapshot())));
  }

  private void broadcast(Map<String, Object> message) {
    if (message == null || viewers.isEmpty()) {
      return;
    }
    ByteBuf encoded = event(ByteBufAllocator.DEFAULT, message);
    try {
      for (Channel ch : viewers) {
        if (!ch.isWritable()) {
          ch.close(); // it fell behind: its page reconnects and starts from a snapshot
        } else {
          ch.writeAndFlush(new DefaultHttpContent(encoded.retainedDuplicate()));
        }
      }
    } finally {
      encoded.release();
    }
  }

  private void keepalive() {
    for (Channel ch : viewers) {
      ch.writeAndFlush(new DefaultHttpContent(ch.alloc().buffer().writeBytes(KEEPALIVE)));
    }
  }

  private static ByteBuf event(ByteBufAllocator alloc, Map<String, Object> message) {
    ByteBuf buf = alloc.buffer(1024);
    try (OutputStream out = new ByteBufOutputStream(buf);
        JsonGenerator g = JSON.createGenerator(out)) {
      out.write("data: ".getBytes(StandardCharsets.US_ASCII));
      JsonValues.write(g, message);
      g.flush();
      out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      buf.release();
      throw new UncheckedIOException(e);
    }
    return buf;
  }

  @Override
  public void close() {
    deltas.cancel(false);
    samples.cancel(false);
    keepalive.cancel(false);
    viewers.close();
  }
}
