package org.aiphub.server.netty;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Gives a plain HTTP connection a deadline: it must deliver a complete request within the handshake
 * timeout after connecting (or after the previous response, when kept alive), or it gets a 408 and
 * is closed. This stops slowloris sockets that connect and never finish a request, however slowly
 * they trickle bytes. Removed once the connection upgrades to a WebSocket, which has its own
 * registration timeout. One instance per channel.
 */
public final class HttpDeadlineHandler extends ChannelDuplexHandler {
  private final Duration timeout;
  private final Consumer<String> expired;
  private ScheduledFuture<?> deadline;

  /** A deadline of {@code timeout}; {@code expired} is told when one passes (for metrics). */
  public HttpDeadlineHandler(Duration timeout, Consumer<String> expired) {
    this.timeout = timeout;
    this.expired = expired;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      arm(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    arm(ctx);
    super.channelActive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof LastHttpContent) {
      disarm(); // the request is complete; the hub owes the answer now
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse
        && ((HttpResponse) msg).status().code() != HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
      arm(ctx); // kept alive: the next request gets the same time
    }
    ctx.write(msg, promise);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    disarm();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    disarm();
    super.channelInactive(ctx);
  }

  private void arm(ChannelHandlerContext ctx) {
    disarm();
    deadline =
        ctx.executor()
            .schedule(
                () -> {
                  deadline = null;
                  expired.accept("handshake_timeout");
                  ctx.channel().config().setAutoRead(false);
                  ctx.writeAndFlush(
                          HttpResponses.error(
                              ctx,
                              HttpResponseStatus.REQUEST_TIMEOUT,
                              "no complete request within " + timeout.toMillis() + " ms"))
                      .addListener(ChannelFutureListener.CLOSE);
                },
                timeout.toMillis(),
                TimeUnit.MILLISECONDS);
  }

  private void disarm() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
