package org.aiphub.server.netty;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
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
 * mark, no more requests are read, and requests already read (pipelined behind the one being
 * answered, decoded from the same read) are held, not answered, until the client has taken what is
 * queued for it. So at most one answer is ever queued beyond the high water mark, and a client that
 * pipelines requests and never reads the answers cannot make the hub buffer them: it is held to one
 * read's worth of requests, then closed as a slow reader ({@link SlowConsumerHandler}) or, when it
 * delivers no complete request in time, by the deadline (even when its 408 can no longer be
 * written). Held requests are released when the connection closes or upgrades (requests pipelined
 * behind an upgrade are never answered).
 *
 * <p>A connection that became the dashboard feed ({@link #streaming}) has no deadline any more and
 * takes no further requests: what it sends is dropped.
 */
public final class HttpDeadlineHandler extends ChannelDuplexHandler {
  /**
   * Most requests held for a client that does not read its answers; one more closes it as a slow
   * reader. Below Netty's own cap on unanswered pipelined requests (128), which it enforces with an
   * exception.
   */
  static final int MAX_HELD_REQUESTS = 64;

  private final Duration timeout;
  private final Consumer<String> expired;
  private final ConnectionEvents events;
  private final ArrayDeque<Object> held = new ArrayDeque<>();
  private int heldRequests;
  private boolean closing;
  private ScheduledFuture<?> deadline;
  private boolean expiredOnce;
  private boolean streaming;
  private boolean draining;

  /** A deadline of {@code timeout}; {@code expired} is told when one passes (for metrics). */
  public HttpDeadlineHandler(Duration timeout, Consumer<String> expired) {
    this(timeout, expired, ConnectionEvents.NONE);
  }

  /**
   * A deadline of {@code timeout}; {@code expired} is told when one passes, {@code events} of a
   * client closed for pipelining past {@link #MAX_HELD_REQUESTS} without reading (for metrics).
   */
  public HttpDeadlineHandler(Duration timeout, Consumer<String> expired, ConnectionEvents events) {
    this.timeout = timeout;
    this.expired = expired;
    this.events = events;
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
    if (streaming || closing) {
      ReferenceCountUtil.release(msg); // a feed takes no more requests; a closing client neither
      return;
    }
    if (msg instanceof LastHttpContent) {
      disarm(); // the request is complete; the hub owes the answer now
    }
    if (!held.isEmpty() || !ctx.channel().isWritable()) {
      // The client has not taken its earlier answers: this request waits, and nothing more is
      // read meanwhile. What one read already brought in is all that can wait here.
      held.add(msg);
      ctx.channel().config().setAutoRead(false);
      if (msg instanceof HttpRequest && ++heldRequests > MAX_HELD_REQUESTS) {
        // Pipelined this deep without reading: it gets nothing more. The rest of what it sent
        // may still be decoded; it is dropped here, and so are the decoder's complaints about it.
        closing = true;
        releaseHeld();
        events.slowConsumerClosed();
        ctx.close();
      }
      return;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    // Not while requests are held: the aggregator behind would ask for more reads to complete a
    // request whose rest is held here, and the decoder would fill this queue without end.
    if (held.isEmpty() || streaming) {
      ctx.fireChannelReadComplete();
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!streaming
        && msg instanceof HttpResponse
        && ((HttpResponse) msg).status().code() != HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
      arm(ctx); // kept alive: the next request gets the same time
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isWritable()) {
      deliverHeld(ctx);
    }
    if (!expiredOnce && !streaming) {
      // Read the next request only once the client has taken the answers queued for it.
      ctx.channel().config().setAutoRead(ctx.channel().isWritable() && held.isEmpty());
    }
    super.channelWritabilityChanged(ctx);
  }

  /** Passes on held requests, oldest first, while the client keeps up with the answers. */
  private void deliverHeld(ChannelHandlerContext ctx) {
    if (draining) {
      return; // an answer written below changed the writability: the loop below goes on
    }
    draining = true;
    boolean delivered = false;
    try {
      while (!held.isEmpty() && ctx.channel().isWritable() && !streaming) {
        Object m = held.poll();
        if (m instanceof HttpRequest) {
          heldRequests--;
        }
        ctx.fireChannelRead(m);
        delivered = true;
      }
    } finally {
      draining = false;
    }
    if (delivered) {
      ctx.fireChannelReadComplete();
    }
  }

  /**
   * The connection now streams the dashboard feed: no deadline, no more requests (whatever was held
   * or comes later is dropped), and reading goes on only to notice the client leaving.
   */
  void streaming(ChannelHandlerContext ctx) {
    streaming = true;
    disarm();
    releaseHeld();
    if (!expiredOnce) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    disarm();
    releaseHeld();
    if (!expiredOnce && ctx.channel().isActive()) {
      ctx.channel().config().setAutoRead(true); // upgraded: the WebSocket handlers take over
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    disarm();
    releaseHeld();
    super.channelInactive(ctx);
  }

  private void releaseHeld() {
    for (Object m = held.poll(); m != null; m = held.poll()) {
      ReferenceCountUtil.release(m);
    }
    heldRequests = 0;
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closing) {
      return; // decoding what a client closed for pipelining had still sent: expected, dropped
    }
    ctx.fireExceptionCaught(cause);
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
