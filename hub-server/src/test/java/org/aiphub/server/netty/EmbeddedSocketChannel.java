package org.aiphub.server.netty;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DefaultSocketChannelConfig;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Ticker;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;

/**
 * An {@link EmbeddedChannel} that is a {@link SocketChannel}, so the hub's own {@link
 * HubChannelInitializer} (a {@code ChannelInitializer<SocketChannel>}) builds its real pipeline on
 * it: connection limit, HTTP codec, deadline, aggregator, handshake guard, and after an upgrade the
 * WebSocket codecs, idle timer, liveness, aggregator, slow-consumer guard, AIP codec and connection
 * handler. It differs from a socket where a socket would not matter to those handlers:
 *
 * <ul>
 *   <li>its own {@code ChannelId} (all plain embedded channels share one, which a {@code
 *       ChannelGroup} and the hub's connection ids would mistake for a single channel);
 *   <li>an {@link InetSocketAddress} at both ends, as the admission and handshake checks expect;
 *   <li>its event loop runs on the given {@link Ticker}, so a test moves time by hand;
 *   <li>{@link #shutdownOutput()} shuts the output: every later write fails with a {@link
 *       ClosedChannelException}, as NIO and epoll channels fail it (a handler first in the
 *       pipeline, where the socket's write would be, does it);
 *   <li>{@link #peerReads(boolean) peerReads(false)} plays a client that stops reading: flushed
 *       writes stay queued in the channel (counted against its write buffer water marks, so it
 *       turns unwritable) until the client reads again.
 * </ul>
 *
 * <p>A pipeline that turns auto-read off is not stopped from getting bytes by this class: the test
 * holds them back itself.
 *
 * <p>The pipeline is built when the constructor returns: channel active, connection admitted.
 */
final class EmbeddedSocketChannel extends EmbeddedChannel implements SocketChannel {
  private static final InetSocketAddress LOCAL =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

  private final InetSocketAddress remote;
  private SocketChannelConfig socketConfig; // lazily: the superclass constructor may ask for it
  private boolean inputShutdown;
  private boolean outputShutdown;
  private int writesAfterShutdown;
  private boolean peerReads = true;

  /**
   * A connected channel from {@code remote} whose pipeline {@code initializer} builds, with the
   * allocator and write buffer water marks the hub's bootstrap would give it.
   */
  EmbeddedSocketChannel(
      Ticker ticker,
      ByteBufAllocator alloc,
      WriteBufferWaterMark waterMark,
      InetSocketAddress remote,
      ChannelHandler initializer) {
    super(
        EmbeddedChannel.builder()
            .channelId(DefaultChannelId.newInstance())
            .register(false)
            .ticker(ticker)
            .handlers(initializer));
    this.remote = remote;
    config().setAllocator(alloc);
    config().setWriteBufferWaterMark(waterMark);
    pipeline().addFirst("socket-output", new ShutOutput());
    try {
      register();
    } catch (Exception e) {
      throw new IllegalStateException("cannot register the channel", e);
    }
  }

  @Override
  public SocketChannelConfig config() {
    if (socketConfig == null) {
      // A Socket that never opens: DefaultSocketChannelConfig's constructor sets TCP_NODELAY on it,
      // which would otherwise create a real file descriptor per channel.
      socketConfig =
          new DefaultSocketChannelConfig(
              this,
              new Socket() {
                @Override
                public void setTcpNoDelay(boolean on) {}
              });
    }
    return socketConfig;
  }

  @Override
  public ServerSocketChannel parent() {
    return null;
  }

  @Override
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) super.localAddress();
  }

  @Override
  public InetSocketAddress remoteAddress() {
    return (InetSocketAddress) super.remoteAddress();
  }

  @Override
  protected SocketAddress localAddress0() {
    return LOCAL;
  }

  @Override
  protected SocketAddress remoteAddress0() {
    return remote;
  }

  @Override
  public boolean isInputShutdown() {
    return inputShutdown || !isActive();
  }

  @Override
  public ChannelFuture shutdownInput() {
    return shutdownInput(newPromise());
  }

  @Override
  public ChannelFuture shutdownInput(ChannelPromise promise) {
    inputShutdown = true;
    return promise.setSuccess();
  }

  @Override
  public boolean isOutputShutdown() {
    return outputShutdown || !isActive();
  }

  @Override
  public ChannelFuture shutdownOutput() {
    return shutdownOutput(newPromise());
  }

  @Override
  public ChannelFuture shutdownOutput(ChannelPromise promise) {
    outputShutdown = true;
    return promise.setSuccess();
  }

  @Override
  public boolean isShutdown() {
    return isInputShutdown() && isOutputShutdown();
  }

  @Override
  public ChannelFuture shutdown() {
    return shutdown(newPromise());
  }

  @Override
  public ChannelFuture shutdown(ChannelPromise promise) {
    inputShutdown = true;
    outputShutdown = true;
    return promise.setSuccess();
  }

  /** Whether the hub shut this socket's output (the lingering close after a 413). */
  boolean outputWasShut() {
    return outputShutdown;
  }

  /** Writes refused because the output was shut. */
  int writesAfterShutdown() {
    return writesAfterShutdown;
  }

  /** Where the socket's write would be: refuses writes once the output is shut. */
  private final class ShutOutput extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (outputShutdown) {
        writesAfterShutdown++;
        ReferenceCountUtil.release(msg);
        promise.tryFailure(new ClosedChannelException());
        return;
      }
      ctx.write(msg, promise);
    }
  }

  /**
   * Whether the client reads: while it does not, flushed writes wait in the channel's outbound
   * buffer; once it reads again they are handed over ({@link #readOutbound()}).
   */
  void peerReads(boolean reads) {
    peerReads = reads;
    if (reads && isOpen()) {
      unsafe().flush();
    }
  }

  boolean peerReads() {
    return peerReads;
  }

  @Override
  protected void doWrite(ChannelOutboundBuffer in) throws Exception {
    if (peerReads) {
      super.doWrite(in);
    }
  }
}
