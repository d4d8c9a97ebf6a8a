package org.aiphub.server.netty;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import org.aiphub.core.json.JsonValues;
import org.aiphub.server.FatalErrors;
import org.aiphub.server.dashboard.DashboardState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
  private static final Logger log = LoggerFactory.getLogger(EventStream.class);
  private static final byte[] KEEPALIVE = ": keepalive\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final AtomicLong nextWarn = new AtomicLong(System.nanoTime());

  private final DashboardState state;
  private final ByteBufAllocator alloc;
  private final ConnectionEvents events;
  private final ChannelGroup viewers;
  private final ScheduledFuture<?> deltas;
  private final ScheduledFuture<?> samples;
  private final ScheduledFuture<?> keepalive;

  /** A feed whose timers run on {@code executor}. */
  public EventStream(DashboardState state, EventExecutor executor) {
    this(state, executor, ByteBufAllocator.DEFAULT, ConnectionEvents.NONE);
  }

  /**
   * A feed whose timers run on {@code executor} and whose broadcasts are encoded once, in buffers
   * from {@code alloc}, shared by all viewers; {@code events} is told of every viewer closed for
   * not reading ({@link ConnectionEvents#slowConsumerClosed}).
   */
  public EventStream(
      DashboardState state,
      EventExecutor executor,
      ByteBufAllocator alloc,
      ConnectionEvents events) {
    this.state = state;
    this.alloc = alloc;
    this.events = events;
    this.viewers = new DefaultChannelGroup("dashboard", executor);
    // Guarded: Netty logs what a timer throws and goes on, which would hide an OutOfMemoryError.
    this.deltas =
        executor.scheduleAtFixedRate(
            FatalErrors.guard(() -> broadcast(state::delta)), 1, 1, TimeUnit.SECONDS);
    this.samples =
        executor.scheduleAtFixedRate(
            FatalErrors.guard(() -> broadcast(state::sample)), 0, 2, TimeUnit.SECONDS);
    this.keepalive =
        executor.scheduleAtFixedRate(FatalErrors.guard(this::keepalive), 15, 15, TimeUnit.SECONDS);
  }

  /** Viewers connected now. */
  public int viewers() {
    return viewers.size();
  }

  /** {@link #subscribe(ChannelHandlerContext, IntConsumer)}, the status untold. */
  public void subscribe(ChannelHandlerContext ctx) {
    subscribe(ctx, status -> {});
  }

  /**
   * Turns the request's channel into a feed: headers, then the snapshot. Called on the channel's
   * event loop, so a delta broadcast meanwhile from another thread is written after the snapshot.
   * When the snapshot cannot be encoded (no memory for it), the viewer gets a 503 and is closed;
   * its page retries with backoff.
   *
   * @param status told the answer's status before it is written (for metrics)
   */
  public void subscribe(ChannelHandlerContext ctx, IntConsumer status) {
    Channel ch = ctx.channel();
    HttpDeadlineHandler deadline = ch.pipeline().get(HttpDeadlineHandler.class);
    if (deadline != null) {
      // A feed never "completes", and takes no further requests.
      deadline.streaming(ch.pipeline().context(deadline));
    }
    // Counted and in the group before the snapshot is taken: every change after it is then both
    // tracked and broadcast to this viewer. The count (not "is the group empty?") decides tracking,
    // so another viewer leaving in between cannot switch it off under this one.
    state.viewerJoined();
    ch.closeFuture().addListener(f -> state.viewerLeft());
    viewers.add(ch);
    ByteBuf snapshot;
    try {
      snapshot = event(ch.alloc(), state.snapshot());
    } catch (OutOfMemoryError | RuntimeException e) {
      FatalErrors.check(e); // a hub process ends on an OutOfMemoryError; an embedded one goes on
      viewers.remove(ch);
      status.accept(HttpResponseStatus.SERVICE_UNAVAILABLE.code());
      HttpResponses.send(
          ctx,
          false,
          HttpResponses.fallback(
              HttpResponseStatus.SERVICE_UNAVAILABLE,
              "the hub cannot send the dashboard snapshot now; retry later"));
      warnRarely("dashboard snapshot not sent: {}", e.toString());
      return;
    }
    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
        .set("X-Content-Type-Options", "nosniff")
        .set("X-Accel-Buffering", "no");
    HttpUtil.setTransferEncodingChunked(r, true);
    status.accept(HttpResponseStatus.OK.code());
    ch.write(r);
    ch.writeAndFlush(new DefaultHttpContent(snapshot));
  }

  /**
   * Sends one message to every viewer; a viewer that cannot take it now (unwritable: it has not
   * read what it was sent) is closed instead, and its page starts again from a snapshot. Runs on a
   * timer, so nothing may escape it: an exception would cancel every later run. A message that
   * cannot be encoded (no memory) closes every viewer, since each of them then misses a change.
   */
  private void broadcast(Supplier<Map<String, Object>> next) {
    if (viewers.isEmpty()) {
      return;
    }
    ByteBuf encoded;
    try {
      Map<String, Object> message = next.get();
      if (message == null) {
        return;
      }
      encoded = event(alloc, message);
    } catch (OutOfMemoryError | RuntimeException e) {
      FatalErrors.check(e); // a hub process ends on an OutOfMemoryError; an embedded one goes on
      warnRarely("dashboard update not sent, viewers closed to start afresh: {}", e.toString());
      viewers.close();
      return;
    }
    try {
      for (Channel ch : viewers) {
        if (!ch.isWritable()) {
          // It fell behind: its page reconnects and starts from a snapshot. Nothing is queued for
          // a viewer that has not taken what it was sent, so a viewer holds at most one message
          // beyond the write buffer's high water mark.
          if (viewers.remove(ch)) {
            events.slowConsumerClosed();
          }
          ch.close();
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
      if (ch.isWritable()) { // an unwritable one is closed by the next broadcast
        // A heap buffer over a shared array: nothing to allocate, nothing that can leak.
        ch.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(KEEPALIVE)));
      }
    }
  }

  /** One server-sent event holding {@code message}; its buffer is released if encoding fails. */
  static ByteBuf event(ByteBufAllocator alloc, Map<String, Object> message) {
    ByteBuf buf = alloc.buffer(1024);
    boolean handedOver = false;
    try {
      try (OutputStream out = new ByteBufOutputStream(buf);
          JsonGenerator g = JSON.createGenerator(out)) {
        out.write(DATA);
        JsonValues.write(g, message);
        g.flush();
        out.write(END);
      }
      handedOver = true;
      return buf;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (!handedOver) {
        buf.release(); // on every failure, Errors (OutOfDirectMemoryError) included
      }
    }
  }

  private static void warnRarely(String format, Object arg) {
    long now = System.nanoTime();
    long next = nextWarn.get();
    if (now - next >= 0 && nextWarn.compareAndSet(next, now + WARN_INTERVAL_NANOS)) {
      log.warn(format, arg);
    }
  }

  @Override
  public void close() {
    deltas.cancel(false);
    samples.cancel(false);
    keepalive.cancel(false);
    viewers.close();
  }
}
