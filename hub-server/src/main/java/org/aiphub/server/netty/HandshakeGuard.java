package org.aiphub.server.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Consumer;
import org.aiphub.server.security.AccessKeys;
import org.aiphub.server.security.AdmissionControl;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;

/**
 * Stands before the WebSocket upgrade and sorts every request by its {@link RequestTarget}, the one
 * answer to "is this a request for the AIP endpoint". A malformed request (undecodable, an HTTP/1.1
 * request without exactly one {@code Host}, a bad percent-escape, the AIP path in another spelling
 * such as {@code /w%73}) gets a 400 whatever its path. A request for another path goes on to the
 * HTTP API. A request for the AIP path must come with an allowed {@code Host} (and, from a browser,
 * an allowed {@code Origin}), be a GET, fit its address's upgrade rate, carry a key that may
 * connect as a client ({@code ?token=KEY} or {@code Authorization: Bearer KEY}; {@link AccessKeys}
 * decides: an empty one is absent, every key presented must be the same key, and the operator key
 * is refused) and be a complete RFC 6455 version 13 upgrade, in that order; anything else gets a
 * JSON error (403, 405, 429, 401, 400, 426) and no upgrade. The rate comes before the key so that
 * guessing keys from one address is held to that rate too. Malformed requests and refusals for
 * Host, Origin, rate and key are reported as {@link RequestRefusal}s. Every refusal closes the
 * connection, and nothing after a refused request is read.
 *
 * <p>A good upgrade gets the WebSocket handlers installed behind this guard, which then steps out
 * of the pipeline, and goes on with its URI set to exactly the AIP path: the handshaker matches
 * that path exactly, and the guard's checks are the ones it makes, so a request this guard lets
 * through never fails or slips past there (Netty would answer with a plain-text 400, or with an
 * empty 426 and leave the socket open with the WebSocket handlers installed). Nothing the client
 * sent behind it is read as another request: {@link UpgradeGate} fails the connection instead. One
 * instance per channel.
 */
public final class HandshakeGuard extends ChannelInboundHandlerAdapter {
  /** The only WebSocket version the hub speaks (RFC 6455). */
  private static final String WEBSOCKET_VERSION = "13";

  private final String wsPath;
  private final AccessKeys keys;
  private final Consumer<ChannelHandlerContext> installWebSocket;
  private final OriginPolicy origins;
  private final AdmissionControl admission;
  private final Consumer<RequestRefusal> refusals;

  /**
   * Set by the first refusal, whose answer closes the connection: nothing the client pipelined
   * behind the refused request is read, even while that answer is still on its way out.
   */
  private boolean refusedOne;

  /**
   * A guard that checks only the key (no Host, Origin or rate policy).
   *
   * @param installWebSocket adds the WebSocket handlers right after this guard's context
   */
  public HandshakeGuard(
      String wsPath, ApiKey apiKey, Consumer<ChannelHandlerContext> installWebSocket) {
    this(
        wsPath,
        apiKey,
        installWebSocket,
        new OriginPolicy(List.of("*"), List.of("*"), "0.0.0.0"),
        new AdmissionControl(Integer.MAX_VALUE, 0, 0, System::nanoTime),
        r -> {});
  }

  /**
   * A guard.
   *
   * @param installWebSocket adds the WebSocket handlers right after this guard's context
   * @param origins which Host and Origin headers may upgrade
   * @param admission the per-address upgrade rate
   * @param refusals told why each refused request was refused (for metrics and logs)
   */
  public HandshakeGuard(
      String wsPath,
      ApiKey apiKey,
      Consumer<ChannelHandlerContext> installWebSocket,
      OriginPolicy origins,
      AdmissionControl admission,
      Consumer<RequestRefusal> refusals) {
    this(wsPath, AccessKeys.shared(apiKey), installWebSocket, origins, admission, refusals);
  }

  /**
   * A guard whose key check asks {@code keys} (the one decision point for keys): only a key that
   * may connect as a client opens a WebSocket, never the operator key.
   *
   * @param installWebSocket adds the WebSocket handlers right after this guard's context
   * @param origins which Host and Origin headers may upgrade
   * @param admission the per-address upgrade rate
   * @param refusals told why each refused request was refused (for metrics and logs)
   */
  public HandshakeGuard(
      String wsPath,
      AccessKeys keys,
      Consumer<ChannelHandlerContext> installWebSocket,
      OriginPolicy origins,
      AdmissionControl admission,
      Consumer<RequestRefusal> refusals) {
    this.wsPath = wsPath;
    this.keys = keys;
    this.installWebSocket = installWebSocket;
    this.origins = origins;
    this.admission = admission;
    this.refusals = refusals;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (refusedOne) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (!(msg instanceof FullHttpRequest)) {
      ctx.fireChannelRead(msg);
      return;
    }
    FullHttpRequest req = (FullHttpRequest) msg;
    String refusal;
    HttpResponseStatus status;
    RequestRefusal reason = null;
    try {
      RequestTarget target = RequestTarget.of(req, wsPath);
      if (target.kind() == RequestTarget.Kind.HTTP) {
        ctx.fireChannelRead(msg);
        return;
      }
      String host = req.headers().get(HttpHeaderNames.HOST);
      if (target.kind() == RequestTarget.Kind.MALFORMED) {
        status = HttpResponseStatus.BAD_REQUEST;
        refusal = target.problem();
        reason = RequestRefusal.BAD_REQUEST;
      } else if ((refusal = origins.refuseHost(host)) != null) {
        status = HttpResponseStatus.FORBIDDEN;
        reason = RequestRefusal.BAD_HOST;
      } else if ((refusal = origins.refuseOrigin(req.headers().get(HttpHeaderNames.ORIGIN), host))
          != null) {
        status = HttpResponseStatus.FORBIDDEN;
        reason = RequestRefusal.BAD_ORIGIN;
      } else if (!HttpMethod.GET.equals(req.method())) {
        status = HttpResponseStatus.METHOD_NOT_ALLOWED;
        refusal = "the AIP endpoint only accepts GET WebSocket upgrades";
      } else if (!admission.allowUpgrade(remote(ctx))) {
        // Before the key: every try costs a token, so keys cannot be guessed faster than the rate.
        status = HttpResponseStatus.TOO_MANY_REQUESTS;
        refusal = "too many registrations from this address; retry later";
        reason = RequestRefusal.RATE;
      } else if (!keys.upgradeRole(req.headers(), target.parameters()).connects()) {
        status = HttpResponseStatus.UNAUTHORIZED;
        refusal = keys.clientRefusal();
        reason = RequestRefusal.BAD_KEY;
      } else if (!req.headers().contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
          || !req.headers()
              .containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
          || !req.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)) {
        status = HttpResponseStatus.BAD_REQUEST;
        refusal =
            "expected a WebSocket upgrade request"
                + " (Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key)";
      } else if (!WEBSOCKET_VERSION.equals(
          req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION))) {
        status = HttpResponseStatus.UPGRADE_REQUIRED;
        refusal = "unsupported WebSocket version: send Sec-WebSocket-Version: 13 (RFC 6455)";
      } else {
        status = null;
      }
    } catch (RuntimeException e) {
      ReferenceCountUtil.release(req);
      throw e;
    }
    if (status != null) {
      refusedOne = true;
      try {
        if (reason != null) {
          refusals.accept(
              reason); // counted before the answer goes out: a client never sees it early
        }
      } finally {
        refuse(ctx, req, status, refusal);
      }
      return;
    }
    // The handshaker takes exactly the AIP path (HubChannelInitializer): this is the spelling the
    // checks above were made for, and the key in the query goes no further.
    req.setUri(wsPath);
    installWebSocket.accept(ctx);
    ctx.pipeline().remove(this);
    ctx.fireChannelRead(req);
  }

  private static InetAddress remote(ChannelHandlerContext ctx) {
    return ctx.channel().remoteAddress() instanceof InetSocketAddress
        ? ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress()
        : null;
  }

  private static void refuse(
      ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String why) {
    try {
      FullHttpResponse r = HttpResponses.error(ctx, status, why);
      if (status == HttpResponseStatus.UNAUTHORIZED) {
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
      } else if (status == HttpResponseStatus.UPGRADE_REQUIRED) {
        // RFC 6455 4.4: name the versions the server speaks.
        r.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION);
      } else if (status == HttpResponseStatus.METHOD_NOT_ALLOWED) {
        r.headers().set(HttpHeaderNames.ALLOW, HttpMethod.GET.name());
      } else if (status == HttpResponseStatus.TOO_MANY_REQUESTS) {
        r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        // Counted with the other sockets turned away early (hub_connections_refused_total).
        ConnectionLimiter limiter = ctx.pipeline().get(ConnectionLimiter.class);
        if (limiter != null) {
          limiter.countRefusal(ConnectionLimiter.TOO_MANY_REGISTRATIONS);
        }
      }
      HttpResponses.send(ctx, req, r, true);
    } finally {
      ReferenceCountUtil.release(req);
    }
  }

  /** The credentials of a {@code Bearer} authorization header, or null. */
  public static String bearer(String authorization) {
    return AccessKeys.bearer(authorization);
  }
}
