package org.aiphub.server.netty;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Closes a client that stops reading instead of buffering for it without limit: when the channel
 * stays unwritable (queued bytes above the high water mark) for the slow-consumer timeout, or its
 * queued bytes pass the hard limit, it is closed at once. A WebSocket client is closed with 1008
 * "slow consumer"; a plain HTTP client (API caller, dashboard feed) just loses its connection,
 * since nothing more can reach a reader that does not read. Every such close is counted ({@link
 * ConnectionEvents#slowConsumerClosed}); one for the hard limit is counted as that limit exceeded
 * too ({@code slow_consumer_max_bytes}). One instance per channel.
 *
 * <p>On an HTTP connection the hard limit applies to what is queued behind unread data: one answer
 * written while the client keeps up may be larger (the HTTP handlers hold further requests while
 * the client is unwritable, so no second answer joins it), and its size is bounded by its route
 * instead.
 */
public final class SlowConsumerHandler extends ChannelDuplexHandler {
  /** The {@code limit} label of a close for too many queued bytes. */
  static final String MAX_BYTES_LIMIT = "slow_consumer_max_bytes";

  private final Duration timeout;
  private final long maxPendingBytes;
  private final ConnectionEvents events;
  private final boolean http;
  private ScheduledFuture<?> check;
  private boolean fired;

  /** A guard for a WebSocket connection with the given timeout and hard limit. */
  public SlowConsumerHandler(Duration timeout, long maxPendingBytes, ConnectionEvents events) {
    this(timeout, maxPendingBytes, events, false);
  }

  private SlowConsumerHandler(
      Duration timeout, long maxPendingBytes, ConnectionEvents events, boolean http) {
    this.timeout = timeout;
    this.maxPendingBytes = maxPendingBytes;
    this.events = events;
    this.http = http;
  }

  /** A guard for a plain HTTP connection: a slow reader is closed without a word. */
  public static SlowConsumerHandler forHttp(
      Duration timeout, long maxPendingBytes, ConnectionEvents events) {
    return new SlowConsumerHandler(timeout, maxPendingBytes, events, true);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isWritable()) {
      cancel();
    } else if (check == null) {
      check =
          ctx.executor()
              .schedule(
                  () -> {
                    check = null;
                    if (!ctx.channel().isWritable()) {
                      closeSlow(ctx, false);
                    }
                  },
                  timeout.toMillis(),
                  TimeUnit.MILLISECONDS);
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    boolean wasWritable = ctx.channel().isWritable();
    ctx.write(msg, promise);
    ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
    if (buffer != null
        && buffer.totalPendingWriteBytes() > maxPendingBytes
        && !(http && wasWritable)) {
      closeSlow(ctx, true);
    }
  }

  private void closeSlow(ChannelHandlerContext ctx, boolean overLimit) {
    if (fired) {
      return;
    }
    fired = true;
    cancel();
    events.slowConsumerClosed();
    if (overLimit) {
      events.limitExceeded(MAX_BYTES_LIMIT);
    }
    if (http) {
      ctx.close();
    } else {
      ctx.channel()
          .pipeline()
          .fireUserEventTriggered(
              new CloseRequest(CloseCodes.POLICY_VIOLATION, "slow consumer", true));
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel(); // an HTTP connection that upgraded: the WebSocket's own guard takes over
  }

  private void cancel() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }
}
