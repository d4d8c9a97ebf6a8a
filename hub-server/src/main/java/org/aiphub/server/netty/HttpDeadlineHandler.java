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
 *
 * <p>It also applies backpressure: while answers are queued above the write buffer's high water
 * mark, no more requests are read, so a client that pipelines requests and never reads the answers
 * cannot make the hub buffer them without bound; it then delivers no complete request in time and
 * is closed, even when its 408 can no longer be written.
 */
public final class HttpDeadlineHandler extends ChannelDuplexHandler {
  private final Duration timeout;
  private final Consumer<String> expired;
  private ScheduledFuture<?> deadline;
  private boolean expiredOnce;

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
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (!expiredOnce) {
      // Read the next request only once the client has taken the answers queued for it.
      ctx.channel().config().setAutoRead(ctx.channel().isWritable());
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    disarm();
    if (!expiredOnce && ctx.channel().isActive()) {
      ctx.channel().config().setAutoRead(true); // upgraded: the WebSocket handlers take over
    }
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
                  expiredOnce = true;
                  expired.accept("handshake_timeout");
                  ctx.channel().config().setAutoRead(false);
                  if (!ctx.channel().isWritable()) {
                    ctx.close(); // it reads nothing: a 408 would only join the queue
                    return;
                  }
                  ctx.writeAndFlush(
                          HttpResponses.error(
                              ctx,
                              HttpResponseStatus.REQUEST_TIMEOUT,
                              "no complete request within " + timeout.toMillis() + " ms"))
                      .addListener(ChannelFutureListener.CLOSE);
                  // A client whose socket is full never lets the 408 out: close it anyway.
                  ctx.executor()
                      .schedule(
                          () -> {
                            if (ctx.channel().isOpen()) {
                              ctx.close();
                            }
                          },
                          timeout.toMillis(),
                          TimeUnit.MILLISECONDS);
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
