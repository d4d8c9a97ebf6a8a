package org.aiphub.server.netty;

import static org.aiphub.server.netty.ChannelHandlerNames.AIP_CODEC;
import static org.aiphub.server.netty.ChannelHandlerNames.CONNECTION;
import static org.aiphub.server.netty.ChannelHandlerNames.CONNECTION_LIMIT;
import static org.aiphub.server.netty.ChannelHandlerNames.EXCEPTIONS;
import static org.aiphub.server.netty.ChannelHandlerNames.HANDSHAKE_GUARD;
import static org.aiphub.server.netty.ChannelHandlerNames.HTTP_AGGREGATOR;
import static org.aiphub.server.netty.ChannelHandlerNames.HTTP_API;
import static org.aiphub.server.netty.ChannelHandlerNames.HTTP_CODEC;
import static org.aiphub.server.netty.ChannelHandlerNames.HTTP_DEADLINE;
import static org.aiphub.server.netty.ChannelHandlerNames.HTTP_SLOW_READER;
import static org.aiphub.server.netty.ChannelHandlerNames.IDLE_STATE;
import static org.aiphub.server.netty.ChannelHandlerNames.LIVENESS;
import static org.aiphub.server.netty.ChannelHandlerNames.SLOW_CONSUMER;
import static org.aiphub.server.netty.ChannelHandlerNames.TLS;
import static org.aiphub.server.netty.ChannelHandlerNames.UPGRADE_GATE;
import static org.aiphub.server.netty.ChannelHandlerNames.WS_AGGREGATOR;
import static org.aiphub.server.netty.ChannelHandlerNames.WS_FRAGMENTS;
import static org.aiphub.server.netty.ChannelHandlerNames.WS_PROTOCOL;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.security.AccessKeys;
import org.aiphub.server.security.AdmissionControl;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;

/**
 * Builds every pipeline. A new socket starts as HTTP:
 *
 * <pre>
 * connection-limit -> [tls] -> http-codec -> http-slow-reader -> http-deadline -> http-aggregator
 *   -> handshake-guard -> http-api -> exceptions
 * </pre>
 *
 * and a good upgrade on the AIP path turns it into:
 *
 * <pre>
 * connection-limit -> [tls] -> ws codecs -> idle-state -> liveness -> ws-protocol -> upgrade-gate
 *   -> ws-fragments -> ws-aggregator -> slow-consumer -> aip-codec -> connection -> exceptions
 * </pre>
 */
public final class HubChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final HubConfig config;
  private final AccessKeys keys;
  private final TaskRouter router;
  private final ChannelGroup channels;
  private final ConnectionEvents events;
  private final AipFrameCodec frameCodec;
  private final ChannelHandler httpApi;
  private final ExceptionHandler exceptions = new ExceptionHandler();
  private final WebSocketServerProtocolConfig wsConfig;
  private final AdmissionControl admission;
  private final OriginPolicy origins;
  private final SslContext tls;
  private final ConnectionLimiter limiter;
  private final Supplier<ChannelHandler> webSocketTerminal;

  /** An initializer for the hub's sockets. */
  public HubChannelInitializer(
      HubConfig config,
      ApiKey apiKey,
      TaskRouter router,
      ChannelGroup channels,
      ConnectionEvents events,
      ChannelHandler httpApi,
      AdmissionControl admission,
      OriginPolicy origins,
      SslContext tls) {
    this(config, apiKey, router, channels, events, httpApi, admission, origins, tls, null);
  }

  /**
   * An initializer whose upgraded pipelines end in {@code webSocketTerminal}'s handler (added as
   * {@link ChannelHandlerNames#CONNECTION}, so it gets {@link CloseRequest}s) instead of the AIP
   * codec and connection handler: the WebSocket conformance run's echo endpoint, behind the same
   * handshake, limits and codecs. {@code null}: the AIP handlers.
   */
  public HubChannelInitializer(
      HubConfig config,
      ApiKey apiKey,
      TaskRouter router,
      ChannelGroup channels,
      ConnectionEvents events,
      ChannelHandler httpApi,
      AdmissionControl admission,
      OriginPolicy origins,
      SslContext tls,
      Supplier<ChannelHandler> webSocketTerminal) {
    this(
        config,
        AccessKeys.shared(apiKey),
        router,
        channels,
        events,
        httpApi,
        admission,
        origins,
        tls,
        webSocketTerminal);
  }

  /**
   * An initializer whose handshake guard asks {@code keys} which presented key may open a WebSocket
   * (the client key; never the operator key).
   */
  public HubChannelInitializer(
      HubConfig config,
      AccessKeys keys,
      TaskRouter router,
      ChannelGroup channels,
      ConnectionEvents events,
      ChannelHandler httpApi,
      AdmissionControl admission,
      OriginPolicy origins,
      SslContext tls,
      Supplier<ChannelHandler> webSocketTerminal) {
    this.webSocketTerminal = webSocketTerminal;
    this.admission = admission;
    this.origins = origins;
    this.tls = tls;
    this.limiter = new ConnectionLimiter(admission, tls != null, events::connectionRefused);
    this.config = config;
    this.keys = keys;
    this.router = router;
    this.channels = channels;
    this.events = events;
    this.httpApi = httpApi;
    this.frameCodec =
        new AipFrameCodec(
            new AipCodec(config.limits().maxJsonDepth(), config.budgets().maxJsonTokens()), events);
    this.wsConfig =
        WebSocketServerProtocolConfig.newBuilder()
            // Exactly the path: the guard hands on the requests it accepted with exactly this URI
            // (RequestTarget decides what is a request for the AIP endpoint, for every check).
            .websocketPath(config.listen().wsPath())
            .checkStartsWith(false)
            .handleCloseFrames(false) // the connection handler runs the close handshake
            // ...and writes every close frame itself: no automatic "1000 Bye" on close, which
            // would follow Netty's own 1002/1007/1009 after a protocol violation (Autobahn 7.x).
            .sendCloseFrame(null)
            .dropPongFrames(false) // pongs must reach the idle timer
            .handshakeTimeoutMillis(config.timeouts().registration().toMillis())
            .decoderConfig(
                WebSocketDecoderConfig.newBuilder()
                    .maxFramePayloadLength(config.limits().maxFrameBytes())
                    .allowExtensions(false)
                    // The exception handler closes with the violation's code: Netty's own close
                    // answers a broken close frame (code 1005, a reason that is not UTF-8) with a
                    // bare TCP close instead of 1002 or 1007.
                    .closeOnProtocolViolation(false)
                    .withUTF8Validator(true)
                    .build())
            .build();
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    channels.add(ch);
    ChannelPipeline p = ch.pipeline();
    p.addLast(CONNECTION_LIMIT, limiter);
    if (tls != null) {
      p.addLast(TLS, tls.newHandler(ch.alloc()));
    }
    p.addLast(HTTP_CODEC, new HttpServerCodec());
    p.addLast(
        HTTP_SLOW_READER,
        SlowConsumerHandler.forHttp(
            config.timeouts().slowConsumer(), config.limits().slowConsumerMaxBytes(), events));
    p.addLast(
        HTTP_DEADLINE,
        new HttpDeadlineHandler(config.timeouts().handshake(), events::connectionRefused, events));
    p.addLast(HTTP_AGGREGATOR, new JsonHttpObjectAggregator(config.limits().maxBodyBytes()));
    p.addLast(
        HANDSHAKE_GUARD,
        new HandshakeGuard(
            config.listen().wsPath(),
            keys,
            this::installWebSocket,
            origins,
            admission,
            events::requestRefused));
    p.addLast(HTTP_API, httpApi);
    p.addLast(EXCEPTIONS, exceptions);
  }

  /** Turns the channel into an AIP WebSocket connection, right behind the guard. */
  private void installWebSocket(ChannelHandlerContext guard) {
    ChannelPipeline p = guard.pipeline();
    p.remove(HTTP_API);
    p.remove(HTTP_DEADLINE); // the registration timeout takes over
    p.remove(HTTP_SLOW_READER); // the WebSocket's own slow-consumer guard takes over
    // Idle timer and liveness sit before the protocol handler, which answers pings itself:
    // a client whose only traffic is pings is alive too.
    p.addBefore(
        EXCEPTIONS,
        IDLE_STATE,
        new IdleStateHandler(config.timeouts().idle().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
    p.addBefore(EXCEPTIONS, LIVENESS, new LivenessHandler(config.timeouts().ping(), events));
    p.addBefore(EXCEPTIONS, WS_PROTOCOL, new WebSocketServerProtocolHandler(wsConfig));
    p.addBefore(EXCEPTIONS, UPGRADE_GATE, new UpgradeGate());
    p.addBefore(
        EXCEPTIONS,
        WS_FRAGMENTS,
        new FragmentLimiter(config.limits().maxFragmentsPerMessage(), events));
    WebSocketFrameAggregator aggregator =
        new WebSocketFrameAggregator(config.limits().maxFrameBytes());
    // As many components as a message may have fragments: the aggregator then never copies a
    // message it is still collecting (by default it consolidates every 1024 components, so tiny
    // fragments cost a copy of everything received so far each time), only the codec copies it,
    // once.
    aggregator.setMaxCumulationBufferComponents(
        Math.max(2, config.limits().maxFragmentsPerMessage()));
    p.addBefore(EXCEPTIONS, WS_AGGREGATOR, aggregator);
    p.addBefore(
        EXCEPTIONS,
        SLOW_CONSUMER,
        new SlowConsumerHandler(
            config.timeouts().slowConsumer(), config.limits().slowConsumerMaxBytes(), events));
    if (webSocketTerminal != null) {
      p.addBefore(EXCEPTIONS, CONNECTION, webSocketTerminal.get());
      return;
    }
    p.addBefore(EXCEPTIONS, AIP_CODEC, frameCodec);
    p.addBefore(
        EXCEPTIONS,
        CONNECTION,
        new ConnectionHandler(
            router,
            config.timeouts().registration(),
            config.limits().badFramesPerMinute(),
            events,
            // 0: plain reject (docs/PROTOCOL.md, "Duplicate client ids"): never probed or replaced.
            config.timeouts().probe().isZero() ? null : config.timeouts().probe()));
  }
}
