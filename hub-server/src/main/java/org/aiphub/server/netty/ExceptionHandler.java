package org.aiphub.server.netty;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import java.io.IOException;
import org.aiphub.server.FatalErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of every pipeline; sorts what reaches it. I/O errors and writes refused while
 * closing are routine and closed quietly; an over-long message closes with 1009; a broken WebSocket
 * frame closes with the code its exception names (1002, 1007 for invalid UTF-8, 1009) through the
 * connection handler, which sends no second close frame after the client's own; anything else is a
 * bug: logged once with its stack, then the connection closes with 1011. An {@link
 * OutOfMemoryError} ends the process (see {@link FatalErrors}).
 */
@ChannelHandler.Sharable
public final class ExceptionHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ExceptionHandler.class);

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (FatalErrors.check(cause)) {
      // Only reached where the process did not ask to exit (an embedded hub): drop the socket.
      ctx.close();
      return;
    }
    Throwable c =
        cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (c instanceof IOException || c instanceof PrematureChannelClosureException) {
      ctx.close();
    } else if (c instanceof TooLongFrameException) {
      closeWith(ctx, CloseCodes.MESSAGE_TOO_BIG, "message too big");
    } else if (c instanceof CorruptedWebSocketFrameException) {
      // Netty's decoder and UTF-8 validator leave the close to the hub (closeOnProtocolViolation
      // off): it would answer a broken close frame with a bare TCP close instead of 1002 or 1007.
      CorruptedWebSocketFrameException e = (CorruptedWebSocketFrameException) c;
      closeWith(ctx, e.closeStatus().code(), reason(e));
    } else if (c instanceof CorruptedFrameException) {
      ctx.close();
    } else {
      log.warn("closing {} after an unexpected error", ctx.channel().remoteAddress(), c);
      closeWith(ctx, CloseCodes.INTERNAL_ERROR, "internal error");
    }
  }

  /** The exception's message as a close reason: at most 123 bytes (RFC 6455 5.5). */
  private static String reason(CorruptedWebSocketFrameException e) {
    String m = e.getMessage() == null ? e.closeStatus().reasonText() : e.getMessage();
    StringBuilder b = new StringBuilder(Math.min(m.length(), 123));
    for (int i = 0; i < m.length() && b.length() < 123; i++) {
      char ch = m.charAt(i);
      b.append(ch >= 0x20 && ch < 0x7f ? ch : '?'); // one byte each
    }
    return b.toString();
  }

  private static void closeWith(ChannelHandlerContext ctx, int code, String reason) {
    if (ctx.pipeline().get(ChannelHandlerNames.CONNECTION) != null) {
      ctx.pipeline().fireUserEventTriggered(new CloseRequest(code, reason, false));
    } else {
      ctx.close();
    }
  }
}
