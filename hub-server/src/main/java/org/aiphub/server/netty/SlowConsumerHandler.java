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
 * queued bytes pass the hard limit, it is closed at once with 1008 "slow consumer". One instance
 * per channel.
 */
public final class SlowConsumerHandler extends ChannelDuplexHandler {
  private final Duration timeout;
  private final long maxPendingBytes;
  private final ConnectionEvents events;
  private ScheduledFuture<?> check;
  private boolean fired;

  /** A guard with the given timeout and hard limit. */
  public SlowConsumerHandler(Duration timeout, long maxPendingBytes, ConnectionEvents events) {
    this.timeout = timeout;
    this.maxPendingBytes = maxPendingBytes;
    this.events = events;
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
                      closeSlow(ctx);
                    }
                  },
                  timeout.toMillis(),
                  TimeUnit.MILLISECONDS);
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    ctx.write(msg, promise);
    ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
    if (buffer != null && buffer.totalPendingWriteBytes() > maxPendingBytes) {
      closeSlow(ctx);
    }
  }

  private void closeSlow(ChannelHandlerContext ctx) {
    if (fired) {
      return;
    }
    fired = true;
    cancel();
    events.slowConsumerClosed();
    ctx.channel()
        .pipeline()
        .fireUserEventTriggered(
            new CloseRequest(CloseCodes.POLICY_VIOLATION, "slow consumer", true));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.channelInactive(ctx);
  }

  private void cancel() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }
}
