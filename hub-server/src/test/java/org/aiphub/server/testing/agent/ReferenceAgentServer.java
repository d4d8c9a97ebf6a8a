package org.aiphub.server.testing.agent;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A test stand-in for the UFO reference agent server ({@code python -m ufo.server.app}) that
 * behaves like it on the wire; see the package documentation for what it models. One event-loop
 * thread runs every socket and session, as the reference runs on one asyncio loop.
 *
 * <pre>{@code
 * try (ReferenceAgentServer agent = ReferenceAgentServer.builder().token("k").build().start()) {
 *   agent.agent(AgentScript.of(Step.of("HostAgent", Tool.action("click_input", Map.of()))));
 *   WsClient device = WsClient.connect(agent.uri());
 *   ...
 *   agent.recorder().sentTo("dev-1");
 * }
 * }</pre>
 */
public final class ReferenceAgentServer implements AutoCloseable {
  /** The WebSocket path, as the reference's {@code @app.websocket("/ws")}. */
  public static final String PATH = "/ws";

  /** The largest message the reference accepts ({@code ws_max_size}, 100 MiB). */
  public static final int MAX_MESSAGE_BYTES = 100 * 1024 * 1024;

  private final String token;
  private final Duration pingInterval;
  private final Duration pingTimeout;
  private final EventLoopGroup group;
  private final EventLoop loop;
  private final ChannelGroup sockets;
  private final FrameRecorder recorder = new FrameRecorder();
  private final AgentSessions sessions = new AgentSessions(this);
  private final Map<String, AgentConnection> clients = new HashMap<>();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile boolean stopping;
  private Channel listener;

  private ReferenceAgentServer(Builder b) {
    this.token = b.token;
    this.pingInterval = b.pingInterval;
    this.pingTimeout = b.pingTimeout;
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    this.loop = group.next();
    this.sockets = new DefaultChannelGroup(loop);
  }

  /** A builder with the reference's defaults (key {@code test-key}, 20 s pings, 20 s timeout). */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds {@link ReferenceAgentServer}s. */
  public static final class Builder {
    private String token = "test-key";
    private Duration pingInterval = Duration.ofSeconds(20);
    private Duration pingTimeout = Duration.ofSeconds(20);

    private Builder() {}

    /** The API key clients give as {@code ?token=}. */
    public Builder token(String key) {
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("the reference always has a key");
      }
      this.token = key;
      return this;
    }

    /** WebSocket ping period ({@code null} or zero: no pings) and pong deadline. */
    public Builder keepalive(Duration interval, Duration timeout) {
      this.pingInterval = interval;
      this.pingTimeout = timeout;
      return this;
    }

    /** The server, not yet listening. */
    public ReferenceAgentServer build() {
      return new ReferenceAgentServer(this);
    }
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  public ReferenceAgentServer start() {
    WebSocketServerProtocolConfig ws =
        WebSocketServerProtocolConfig.newBuilder()
            .websocketPath(PATH)
            .checkStartsWith(true)
            .handleCloseFrames(false)
            .sendCloseFrame(null)
            .dropPongFrames(false)
            .decoderConfig(
                WebSocketDecoderConfig.newBuilder()
                    .maxFramePayloadLength(MAX_MESSAGE_BYTES)
                    .allowExtensions(false)
                    .build())
            .build();
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    sockets.add(ch);
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(65536))
                        .addLast(new AgentHandshake(token))
                        .addLast(new WebSocketServerProtocolHandler(ws))
                        .addLast(new WebSocketFrameAggregator(MAX_MESSAGE_BYTES))
                        .addLast(
                            new AgentConnection(
                                ReferenceAgentServer.this, connections.incrementAndGet()));
                  }
                });
    listener = b.bind("127.0.0.1", 0).syncUninterruptibly().channel();
    return this;
  }

  /** The port it listens on. */
  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** {@code ws://127.0.0.1:PORT/ws?token=KEY}. */
  public URI uri() {
    return uri(token);
  }

  /** The endpoint with another {@code token} (for refused upgrades). */
  public URI uri(String key) {
    return URI.create(
        "ws://127.0.0.1:"
            + port()
            + PATH
            + "?token="
            + URLEncoder.encode(key, StandardCharsets.UTF_8));
  }

  /** The key. */
  public String token() {
    return token;
  }

  /** Every task from now on runs {@code script}. */
  public void agent(AgentScript script) {
    sessions.agent(request -> script);
  }

  /**
   * Every task from now on runs the script {@code scriptForRequest} gives for its {@code request}
   * text (default: {@link AgentScript#fromRequest}, the harness's {@code script:} format).
   */
  public void agent(Function<String, AgentScript> scriptForRequest) {
    sessions.agent(scriptForRequest);
  }

  /** Every frame, per socket. */
  public FrameRecorder recorder() {
    return recorder;
  }

  /** Ids registered right now. */
  public Set<String> clients() {
    return onLoop(() -> new TreeSet<>(clients.keySet()));
  }

  /** Sessions whose agent is running right now. */
  public List<String> runningSessions() {
    return onLoop(sessions::runningSessionIds);
  }

  /**
   * Closes every socket as uvicorn's shutdown does (TCP close, no close frame; nothing more is
   * sent, so owners are not told about sessions cut short) and stops listening.
   */
  public void stop() {
    shutdown(false);
  }

  /** Like {@link #stop()}, but every socket is reset (RST), as when the process dies. */
  public void kill() {
    shutdown(true);
  }

  @Override
  public void close() {
    stop();
  }

  private void shutdown(boolean reset) {
    if (group.isShuttingDown()) {
      return;
    }
    stopping = true;
    if (listener != null) {
      onLoop(
          () -> {
            listener.close();
            for (Channel c : sockets) {
              if (reset) {
                c.config().setOption(ChannelOption.SO_LINGER, 0);
              }
              c.close();
            }
            return null;
          });
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  // ---- for the package: state lives on the loop

  EventLoop loop() {
    return loop;
  }

  AgentSessions sessions() {
    return sessions;
  }

  Duration pingInterval() {
    return pingInterval;
  }

  Duration pingTimeout() {
    return pingTimeout;
  }

  boolean stopping() {
    return stopping;
  }

  AgentConnection client(String id) {
    return clients.get(id);
  }

  void registered(AgentConnection c) {
    clients.put(c.clientId(), c);
  }

  void disconnected(AgentConnection c) {
    if (stopping) {
      clients.remove(c.clientId(), c);
      return;
    }
    sessions.disconnected(c);
    clients.remove(c.clientId(), c);
  }

  void record(
      int connection, String clientId, FrameRecorder.Direction dir, String text, boolean binary) {
    recorder.add(
        new FrameRecorder.Frame(connection, clientId, dir, text, binary, System.nanoTime()));
  }

  private <T> T onLoop(Callable<T> c) {
    try {
      return loop.submit(c).get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(e);
    }
  }
}
