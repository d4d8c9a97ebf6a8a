package org.aiphub.server.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.aiphub.server.security.AdmissionControl;

/**
 * First in every pipeline: counts the socket in with {@link AdmissionControl} when it becomes
 * active, and out when it closes. A socket over a cap gets a pre-encoded {@code 503} JSON answer
 * (plain text only; on TLS ports it is just closed) and is closed before anything is read or
 * decoded, which keeps floods cheap. Shared by all channels.
 */
@ChannelHandler.Sharable
public final class ConnectionLimiter extends ChannelInboundHandlerAdapter {
  private static final AttributeKey<InetAddress> ADMITTED = AttributeKey.valueOf("hub.admitted");

  /** Refusal reason of an upgrade over the per-address rate (counted by the handshake guard). */
  static final String TOO_MANY_REGISTRATIONS = "too_many_registrations";

  private final AdmissionControl admission;
  private final boolean tls;
  private final Consumer<String> refused;

  /**
   * A limiter.
   *
   * @param tls whether the port speaks TLS (no plain-text answer then)
   * @param refused told the reason label of each refused socket (for metrics)
   */
  public ConnectionLimiter(AdmissionControl admission, boolean tls, Consumer<String> refused) {
    this.admission = admission;
    this.tls = tls;
    this.refused = refused;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    InetAddress address =
        ctx.channel().remoteAddress() instanceof InetSocketAddress
            ? ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress()
            : null;
    AdmissionControl.Verdict v = admission.admit(address);
    if (v != AdmissionControl.Verdict.ADMIT) {
      String reason =
          v == AdmissionControl.Verdict.TOO_MANY_CONNECTIONS
              ? "too_many_connections"
              : "too_many_from_address";
      refused.accept(reason);
      ctx.channel().config().setAutoRead(false);
      if (tls) {
        ctx.close();
      } else {
        ctx.writeAndFlush(Unpooled.wrappedBuffer(answer(reason)))
            .addListener(ChannelFutureListener.CLOSE);
      }
      return;
    }
    ctx.channel().attr(ADMITTED).set(address == null ? InetAddress.getLoopbackAddress() : address);
    super.channelActive(ctx);
  }

  /** Counts a socket turned away later than at connect time (e.g. an upgrade over the rate). */
  void countRefusal(String reason) {
    refused.accept(reason);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    InetAddress address = ctx.channel().attr(ADMITTED).getAndSet(null);
    if (address != null) {
      admission.release(address);
    }
    super.channelInactive(ctx);
  }

  private static byte[] answer(String reason) {
    String body =
        "{\"error\":\""
            + (reason.equals("too_many_connections")
                ? "the hub holds its maximum number of connections"
                : "too many connections from this address")
            + "\"}";
    String response =
        "HTTP/1.1 503 Service Unavailable\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: "
            + body.length()
            + "\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
            + body;
    return response.getBytes(StandardCharsets.US_ASCII);
  }
}
