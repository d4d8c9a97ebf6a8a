package org.aiphub.server.autobahn;

import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.HOST;
import static org.aiphub.server.config.Settings.PORT;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Clock;
import java.time.Duration;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.netty.ChannelHandlerNames;
import org.aiphub.server.netty.CloseRequest;
import org.aiphub.server.netty.ConnectionEvents;
import org.aiphub.server.netty.HttpFallbackHandler;
import org.aiphub.server.netty.HubChannelInitializer;
import org.aiphub.server.netty.Transport;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.security.AdmissionControl;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;

/**
 * The target of the WebSocket conformance run ({@code mvn -Pautobahn}, see hub-server's pom): the
 * hub's own {@link HubChannelInitializer} with the hub's default config — connection limit, HTTP
 * codec and deadline, request aggregator, handshake guard checking the API key, Host and Origin,
 * idle timer and liveness, Netty's WebSocket protocol handler with the hub's decoder settings
 * (frame limit, no extensions, UTF-8 validation, close on protocol violations), the message
 * aggregator and the slow-consumer guard — ending in an echo handler where the hub has its AIP
 * codec and connection state machine. It exists only in the test classpath.
 *
 * <p>The Autobahn fuzzing client connects to {@code ws://HOST:PORT/} with no path and no key, so a
 * small front handler plays the well-behaved client's part and rewrites that request to {@code
 * /ws?token=KEY}: the guard still checks the key on every upgrade.
 *
 * <p>{@code main(PORT)} (what the plugin calls) serves on 127.0.0.1 until its thread is
 * interrupted; without arguments it serves on port 9001, for a manual run against a separate {@code
 * wstest}.
 */
public final class AutobahnEchoServer {
  /** The API key the front handler presents; test-only. */
  static final String KEY = "autobahn-echo-test-key-0123456789";

  private AutobahnEchoServer() {}

  /** Serves until interrupted; {@code args[0]}: the port (default 9001). */
  public static void main(String[] args) throws InterruptedException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 9001;
    HubConfig config =
        HubConfig.builder().set(HOST, "127.0.0.1").set(PORT, port).set(API_KEY, KEY).build();
    Transport transport = Transport.best();
    // Daemon threads: the plugin runs this inside Maven's JVM.
    EventLoopGroup boss =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("autobahn-boss", true), transport.ioHandlerFactory());
    EventLoopGroup workers =
        new MultiThreadIoEventLoopGroup(
            2, new DefaultThreadFactory("autobahn-worker", true), transport.ioHandlerFactory());
    try {
      Channel server =
          new ServerBootstrap()
              .group(boss, workers)
              .channel(transport.serverChannel())
              .childHandler(initializer(config))
              .bind(config.listen().host(), config.listen().port())
              .sync()
              .channel();
      System.out.println(
          "autobahn echo endpoint on ws://" + config.listen().host() + ":" + port + "/");
      server.closeFuture().sync(); // until the plugin interrupts this thread
    } finally {
      boss.shutdownGracefully(0, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
      workers.shutdownGracefully(0, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
  }

  /** The hub's initializer, an echo handler as its terminal, and the key-presenting front. */
  static ChannelInitializer<SocketChannel> initializer(HubConfig config) {
    Clock clock = Clock.systemUTC();
    TaskRouter unused =
        new TaskRouter(
            ClientRegistry.builder().build(),
            new SessionTable(16, Duration.ofMinutes(1), clock),
            clock,
            new RouterEvents() {});
    AdmissionControl admission =
        new AdmissionControl(
            config.limits().maxConnections(),
            config.limits().maxConnectionsPerAddress(),
            config.limits().registrationsPerAddressPerSecond(),
            System::nanoTime);
    HubChannelInitializer hub =
        new HubChannelInitializer(
            config,
            ApiKey.of(config.security().apiKey()),
            unused,
            new DefaultChannelGroup("autobahn", GlobalEventExecutor.INSTANCE),
            ConnectionEvents.NONE,
            new HttpFallbackHandler(config.listen().wsPath()),
            admission,
            new OriginPolicy(
                config.security().allowedHosts(),
                config.security().allowedOrigins(),
                config.listen().host()),
            null,
            EchoHandler::new);
    PresentKey front =
        new PresentKey(config.listen().wsPath() + "?token=" + config.security().apiKey());
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(hub); // builds the hub's pipeline at once, then steps out
        ch.pipeline().addBefore(ChannelHandlerNames.HANDSHAKE_GUARD, "autobahn-front", front);
      }
    };
  }

  /** Rewrites the fuzzing client's {@code GET /} to the AIP path with the key, then steps out. */
  @ChannelHandler.Sharable
  static final class PresentKey extends ChannelInboundHandlerAdapter {
    private final String target;

    PresentKey(String target) {
      this.target = target;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof FullHttpRequest) {
        FullHttpRequest req = (FullHttpRequest) msg;
        if (new QueryStringDecoder(req.uri()).path().equals("/")) {
          req.setUri(target);
        }
        ctx.pipeline().remove(this);
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Echoes every whole text and binary message; answers a close frame with the same status code and
   * closes, as the hub's connection handler does; turns the pipeline's {@link CloseRequest}s (frame
   * too big, idle, slow consumer) into a close frame; drops pongs and anything after a close.
   */
  static final class EchoHandler extends ChannelInboundHandlerAdapter {
    private boolean closing;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof CloseWebSocketFrame) {
        CloseWebSocketFrame frame = (CloseWebSocketFrame) msg;
        try {
          if (!closing) {
            int code = frame.statusCode();
            close(ctx, code < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(code, null));
          }
        } finally {
          frame.release();
        }
        return;
      }
      if (!closing && (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame)) {
        ctx.writeAndFlush(msg);
        return;
      }
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof CloseRequest) {
        CloseRequest r = (CloseRequest) evt;
        if (!closing) {
          close(ctx, new CloseWebSocketFrame(r.code(), r.reason()));
        }
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    private void close(ChannelHandlerContext ctx, CloseWebSocketFrame frame) {
      closing = true;
      ctx.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
