package org.aiphub.server.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.List;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.server.config.Settings;

/**
 * Converts whole WebSocket messages into AIP records and records into text frames. Text and binary
 * frames both carry UTF-8 JSON; bytes are copied out of the buffer before decoding, so no record
 * ever points into pooled memory. A frame that does not decode becomes a {@link FrameRejected}.
 * Close frames pass through to the connection handler; pings are answered by Netty before they get
 * here; pongs only mattered to the idle timer and are dropped.
 *
 * <p>Stateless, so one instance serves every channel.
 */
@ChannelHandler.Sharable
public final class AipFrameCodec extends MessageToMessageCodec<WebSocketFrame, ServerMessage> {
  private final AipCodec codec;
  private final ConnectionEvents events;

  /** A codec handler over {@code codec}. */
  public AipFrameCodec(AipCodec codec) {
    this(codec, ConnectionEvents.NONE);
  }

  /** A codec handler over {@code codec} that counts outgoing messages. */
  public AipFrameCodec(AipCodec codec, ConnectionEvents events) {
    this.codec = codec;
    this.events = events;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
    if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame) {
      ByteBuf content = frame.content();
      try {
        if (content.hasArray()) {
          out.add(
              codec.decodeClient(
                  content.array(),
                  content.arrayOffset() + content.readerIndex(),
                  content.readableBytes()));
        } else {
          out.add(codec.decodeClient(ByteBufUtil.getBytes(content)));
        }
      } catch (AipDecodeException e) {
        if (e.reason() == AipDecodeException.Reason.TOO_MANY_TOKENS) {
          events.limitExceeded(Settings.MAX_JSON_TOKENS.key());
        }
        out.add(new FrameRejected(e));
      }
    } else if (frame instanceof CloseWebSocketFrame) {
      out.add(frame.retain());
    }
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, ServerMessage msg, List<Object> out) {
    events.messageOut(msg.type());
    ByteBuf buf = ctx.alloc().buffer(256);
    try {
      codec.encode(msg, new ByteBufOutputStream(buf));
    } catch (RuntimeException | Error e) {
      buf.release(); // an OutOfDirectMemoryError while the buffer grows too
      throw e;
    }
    out.add(new TextWebSocketFrame(buf));
  }
}
