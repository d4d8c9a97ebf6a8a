package org.aiphub.server.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * Sits next to the head and, once {@link #hold()} is called, keeps every write instead of passing
 * it on, so its promise stays pending: a peer whose close frame has not gone out yet.
 */
final class HeldWrites extends ChannelOutboundHandlerAdapter {
  private record Held(Object msg, ChannelPromise promise) {}

  private final List<Held> held = new ArrayList<>();
  private ChannelHandlerContext ctx;
  private boolean holding;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  void hold() {
    holding = true;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (holding) {
      held.add(new Held(msg, promise));
    } else {
      ctx.write(msg, promise);
    }
  }

  /** What is held, in order. */
  List<Object> heldMessages() {
    List<Object> out = new ArrayList<>();
    for (Held h : held) {
      out.add(h.msg());
    }
    return out;
  }

  /** Stops holding and writes everything held. */
  void releaseAll() {
    holding = false;
    List<Held> copy = new ArrayList<>(held);
    held.clear();
    for (Held h : copy) {
      ctx.write(h.msg(), h.promise());
    }
    ctx.flush();
  }

  /** Frees what is held without writing it (the channel closed underneath). */
  void discardAll() {
    for (Held h : held) {
      ReferenceCountUtil.release(h.msg());
    }
    held.clear();
  }
}
