package org.aiphub.bench.baseline;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.aiphub.server.netty.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The floor the hub is measured against: a bare Netty WebSocket relay with the hub's transport and
 * socket options but none of its work. It keeps an id-to-channel map and nothing else: no sessions,
 * no JSON parsing, no validation. A {@code register} frame (found by a substring scan) maps its
 * {@code client_id} to the channel and gets a fixed {@code {"type":"heartbeat","status":"ok"}}; any
 * other frame goes as it is (same buffer, retained) to the channel named by its {@code
 * "target_id":"..."}. Tasks carry the device as target_id and task_ends the owner, so the load
 * generator's traffic round-trips through it.
 *
 * <p>Run: {@code java -cp hub-bench/target/benchmarks.jar org.aiphub.bench.baseline.FloorRelay
 * --port 0}; it prints {@code Floor relay listening on /127.0.0.1:PORT} like the hub does.
 */
@Command(
    name = "floor-relay",
    mixinStandardHelpOptions = true,
    description = "Bare Netty WebSocket relay (the load generator's floor baseline).")
public final class FloorRelay implements AutoCloseable, Runnable {
  @Option(names = "--host", description = "Address to bind (default ${DEFAULT-VALUE}).")
  String host = "127.0.0.1";

  @Option(
      names = "--port",
      description = "Port to bind; 0 picks a free one (default ${DEFAULT-VALUE}).")
  int port = 5001;

  @Option(
      names = "--threads",
      description =
          "Worker threads; 0 is Netty's default, as the hub uses (default ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--path", description = "WebSocket path (default ${DEFAULT-VALUE}).")
  String path = "/ws";

  private final ConcurrentMap<String, Channel> peers = new ConcurrentHashMap<>();
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private Channel server;

  /** Starts a relay and binds its port. */
  public static FloorRelay start(String host, int port, int threads) throws InterruptedException {
    FloorRelay r = new FloorRelay();
    r.host = host;
    r.port = port;
    r.threads = threads;
    r.bind();
    return r;
  }

  private void bind() throws InterruptedException {
    Transport transport = Transport.best();
    boss = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
    workers = new MultiThreadIoEventLoopGroup(threads, transport.ioHandlerFactory());
    WebSocketServerProtocolConfig ws =
        WebSocketServerProtocolConfig.newBuilder()
            .websocketPath(path)
            .checkStartsWith(true)
            .maxFramePayloadLength(4 * 1024 * 1024)
            .build();
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ChannelPipeline p = ch.pipeline();
                    p.addLast(new HttpServerCodec());
                    p.addLast(new HttpObjectAggregator(65536));
                    p.addLast(new WebSocketServerProtocolHandler(ws));
                    p.addLast(new FloorRelayHandler(peers));
                  }
                });
    try {
      server = b.bind(host, port).sync().channel();
    } catch (RuntimeException | InterruptedException e) {
      close();
      throw e;
    }
  }

  /** The bound address. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** The bound port. */
  public int port() {
    return address().getPort();
  }

  /** Clients currently mapped by id. */
  public int clients() {
    return peers.size();
  }

  /** Closes the server socket, every connection and the event loops. */
  @Override
  public void close() {
    if (server != null) {
      server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    for (EventLoopGroup g : new EventLoopGroup[] {workers, boss}) {
      if (g != null) {
        g.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
      }
    }
  }

  /** Serves until SIGTERM or SIGINT. */
  @Override
  public void run() {
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  close();
                  stop.countDown();
                },
                "floor-relay-shutdown"));
    try {
      bind();
      System.out.println("Floor relay listening on " + address() + " (ws path " + path + ")");
      System.out.flush();
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@code java ... org.aiphub.bench.baseline.FloorRelay [--port N] [--host H] [--threads T]}. */
  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new FloorRelay());
    int code = cli.execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }
}
