package org.aiphub.server.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
  private final List<CompletableFuture<Boolean>> probes = new ArrayList<>(1);
  private ChannelHandlerContext ctx;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Pings the peer and completes with {@code true} at its next inbound frame (a pong or anything
   * else), {@code false} after {@code timeout} or when the channel closes. Any thread.
   */
  CompletableFuture<Boolean> probe(Duration timeout) {
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    if (ctx == null || !ctx.channel().isActive()) {
      result.complete(false);
      return result;
    }
    ctx.executor()
        .execute(
            () -> {
              if (!ctx.channel().isActive()) {
                result.complete(false);
                return;
              }
              probes.add(result);
              ctx.writeAndFlush(new PingWebSocketFrame(Unpooled.EMPTY_BUFFER));
              ctx.executor()
                  .schedule(
                      () -> {
                        if (probes.remove(result)) {
                          result.complete(false);
                        }
                      },
                      timeout.toMillis(),
                      TimeUnit.MILLISECONDS);
            });
    return result;
  }

  private void answerProbes(boolean alive) {
    if (!probes.isEmpty()) {
      List<CompletableFuture<Boolean>> done = new ArrayList<>(probes);
      probes.clear();
      done.forEach(f -> f.complete(alive));
    }
  }

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
    answerProbes(true);
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    disarm();
    answerProbes(false);
    super.channelInactive(ctx);
  }

  private void disarm() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
