package org.aiphub.server.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.registry.ClientConnection;

/**
 * hub-core's view of one WebSocket channel. Writes go through the pipeline from its tail, so the
 * connection handler can refuse them once a close has begun; closes go through the connection
 * handler as a {@link CloseRequest}.
 */
final class ChannelConnection implements ClientConnection {
  private final Channel channel;
  private final String id;
  private final String remote;
  private volatile boolean closing;
  private volatile long lastSeenMillis = System.currentTimeMillis();

  ChannelConnection(Channel channel) {
    this.channel = channel;
    this.id = channel.id().asShortText();
    this.remote = describe(channel.remoteAddress());
  }

  @Override
  public String id() {
    return id;
  }

  /** Closing, or its event loop is stopping (a write task would be rejected). */
  private boolean gone() {
    return closing || channel.eventLoop().isShuttingDown();
  }

  @Override
  public void send(ServerMessage message) {
    if (!gone()) {
      channel.writeAndFlush(message, channel.voidPromise());
    }
  }

  @Override
  public void send(ServerMessage message, Runnable onWritten) {
    if (gone()) {
      return;
    }
    channel
        .writeAndFlush(message)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (f.isSuccess()) {
                    onWritten.run();
                  }
                });
  }

  @Override
  public void deliver(ServerMessage message, Runnable onFailure) {
    if (gone()) {
      onFailure.run();
      return;
    }
    channel
        .writeAndFlush(message)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    onFailure.run();
                  }
                });
  }

  @Override
  public CompletionStage<Boolean> probe(Duration timeout) {
    LivenessHandler liveness = channel.pipeline().get(LivenessHandler.class);
    if (liveness == null) {
      return CompletableFuture.completedFuture(channel.isActive() && !closing);
    }
    return liveness.probe(timeout);
  }

  @Override
  public void close(int code, String reason) {
    channel.pipeline().fireUserEventTriggered(new CloseRequest(code, reason, false));
  }

  @Override
  public String remoteAddress() {
    return remote;
  }

  /** The channel under this connection. */
  Channel channel() {
    return channel;
  }

  /** Marks the connection as closing: later sends are dropped, deliveries fail at once. */
  void markClosing() {
    closing = true;
  }

  boolean isClosing() {
    return closing;
  }

  /** Records inbound traffic, for the dashboard's "last seen". */
  void touch() {
    lastSeenMillis = System.currentTimeMillis();
  }

  long lastSeenMillis() {
    return lastSeenMillis;
  }

  private static String describe(SocketAddress a) {
    if (a instanceof InetSocketAddress) {
      InetSocketAddress i = (InetSocketAddress) a;
      return i.getHostString() + ":" + i.getPort();
    }
    return String.valueOf(a);
  }

  @Override
  public String toString() {
    return "connection " + id + " from " + remote;
  }
}
