package org.aiphub.server.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Reacts to the idle timer: a connection silent for the idle timeout gets a ping, and if it sends
 * nothing (no frame, no pong) within the ping timeout it is closed with {@link
 * CloseCodes#IDLE_TIMEOUT}. Any inbound frame disarms it. One instance per channel.
 */
public final class LivenessHandler extends ChannelDuplexHandler {
  private final Duration pingTimeout;
  private final ConnectionEvents events;
  private ScheduledFuture<?> deadline;

  /** A handler that waits {@code pingTimeout} for an answer to its ping. */
  public LivenessHandler(Duration pingTimeout, ConnectionEvents events) {
    this.pingTimeout = pingTimeout;
    this.events = events;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent && ((IdleStateEvent) evt).state() == IdleState.READER_IDLE) {
      if (deadline == null) {
        ctx.writeAndFlush(new PingWebSocketFrame(Unpooled.EMPTY_BUFFER));
        deadline =
            ctx.executor()
                .schedule(
                    () -> {
                      deadline = null;
                      events.idleClosed();
                      ctx.fireUserEventTriggered(
                          new CloseRequest(CloseCodes.IDLE_TIMEOUT, "idle timeout", true));
                    },
                    pingTimeout.toMillis(),
                    TimeUnit.MILLISECONDS);
      }
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    disarm();
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    disarm();
    super.channelInactive(ctx);
  }

  private void disarm() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
