package org.aiphub.server.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Caps the frames one WebSocket message may come in ({@code max_fragments_per_message}). The
 * aggregator behind it bounds a message's bytes, not its frames: an empty continuation frame adds
 * nothing to a message, so without a cap a client could keep one message open forever, and every
 * tiny frame costs the hub a decode and a trip down the pipeline. With it, one message costs at
 * most that many frames, each of them a constant amount of work (the aggregator keeps as many
 * components, so it never copies a message it is still collecting). Past the cap the connection is
 * closed with 1009, its frames are dropped unread from then on, and the limit is reported to {@link
 * ConnectionEvents#limitExceeded}. Control frames between fragments do not count. One instance per
 * channel.
 */
final class FragmentLimiter extends ChannelInboundHandlerAdapter {
  /** The config key, and the {@code limit} label of the metric. */
  static final String LIMIT = "max_fragments_per_message";

  private final int maxFragments;
  private final ConnectionEvents events;

  /** Frames of the message being received so far; 0 between messages. */
  private int fragments;

  private boolean exceeded;

  FragmentLimiter(int maxFragments, ConnectionEvents events) {
    this.maxFragments = maxFragments;
    this.events = events;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (exceeded) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame) {
      // (A new message inside a fragmented one is a protocol error the decoder already refused.)
      fragments = ((WebSocketFrame) msg).isFinalFragment() ? 0 : 1;
    } else if (msg instanceof ContinuationWebSocketFrame) {
      if (++fragments > maxFragments) {
        ReferenceCountUtil.release(msg);
        exceeded = true;
        events.limitExceeded(LIMIT);
        ctx.pipeline()
            .fireUserEventTriggered(
                new CloseRequest(
                    CloseCodes.MESSAGE_TOO_BIG,
                    "message in more than " + maxFragments + " fragments (" + LIMIT + ")",
                    false));
        return;
      }
      if (((WebSocketFrame) msg).isFinalFragment()) {
        fragments = 0;
      }
    }
    ctx.fireChannelRead(msg);
  }
}
