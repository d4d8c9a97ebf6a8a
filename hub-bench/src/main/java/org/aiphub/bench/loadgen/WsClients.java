package org.aiphub.bench.loadgen;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ClientMessage;

/**
 * Opens AIP WebSocket clients against one server with Netty's client handshaker, all on one small
 * event-loop group, so tens of thousands of sockets and thousands of tasks per second stay cheap on
 * the client side. {@link #to(URI)} opens clients against another server (another cluster node) on
 * the same event loops.
 */
final class WsClients implements AutoCloseable {
  private static final int MAX_FRAME = 1 << 20;

  private final URI uri;
  private final InetSocketAddress remote;
  private final EventLoopGroup group;
  private final Bootstrap bootstrap;
  private final AipCodec codec;
  private final boolean ownsGroup;

  WsClients(URI uri, int threads) {
    this.uri = uri;
    this.remote = resolve(uri);
    this.codec = new AipCodec();
    this.ownsGroup = true;
    this.group = ClientTransport.group(threads, "loadgen-io");
    this.bootstrap =
        new Bootstrap()
            .group(group)
            .channel(ClientTransport.channel())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000);
  }

  private WsClients(WsClients base, URI uri) {
    this.uri = uri;
    this.remote = resolve(uri);
    this.codec = base.codec;
    this.ownsGroup = false;
    this.group = base.group;
    this.bootstrap = base.bootstrap;
  }

  /** Clients for another server on these clients' event loops; closing it leaves them running. */
  WsClients to(URI other) {
    return new WsClients(this, other);
  }

  private static InetSocketAddress resolve(URI uri) {
    if (!"ws".equals(uri.getScheme())) {
      throw new LoadGenException("only ws:// URLs are supported, got " + uri);
    }
    try {
      int port = uri.getPort() < 0 ? 80 : uri.getPort();
      return new InetSocketAddress(InetAddress.getByName(uri.getHost()), port);
    } catch (UnknownHostException e) {
      throw new LoadGenException("unknown host in " + uri, e);
    }
  }

  InetSocketAddress remote() {
    return remote;
  }

  /**
   * Connects, upgrades and registers one client. The future completes on the registration reply, or
   * fails with a {@link LoadGenException} naming the reason.
   *
   * @param local source address to bind, or null for the kernel's choice
   */
  CompletableFuture<WsClient> connect(
      String clientId, ClientMessage register, InetSocketAddress local, ClientBehaviour behaviour) {
    long start = System.nanoTime();
    CompletableFuture<WsClient> registered = new CompletableFuture<>();
    WebSocketClientProtocolConfig ws =
        WebSocketClientProtocolConfig.newBuilder()
            .webSocketUri(uri)
            .maxFramePayloadLength(MAX_FRAME)
            .handshakeTimeoutMillis(TimeUnit.SECONDS.toMillis(30))
            .generateOriginHeader(false)
            .withUTF8Validator(false)
            .build();
    Bootstrap b =
        bootstrap
            .clone()
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ChannelPipeline p = ch.pipeline();
                    p.addLast(new HttpClientCodec());
                    p.addLast(new HttpObjectAggregator(8192));
                    p.addLast(new WebSocketClientProtocolHandler(ws));
                    p.addLast(
                        new AipClientHandler(
                            clientId, register, codec, behaviour, start, registered));
                  }
                });
    ChannelFuture f = local == null ? b.connect(remote) : b.connect(remote, local);
    f.addListener(
        done -> {
          if (!done.isSuccess()) {
            registered.completeExceptionally(
                new LoadGenException(
                    clientId + ": connect failed: " + done.cause().getMessage(), done.cause()));
          }
        });
    return registered;
  }

  @Override
  public void close() {
    if (!ownsGroup) {
      return;
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
  }
}
