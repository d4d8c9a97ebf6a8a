package org.aiphub.bench.loadgen;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ClientMessage;

/** One simulated AIP client on an open, registered WebSocket. */
final class WsClient {
  private final String id;
  private final Channel channel;
  private final AipCodec codec;
  private volatile long registrationNanos;

  WsClient(String id, Channel channel, AipCodec codec) {
    this.id = id;
    this.channel = channel;
    this.codec = codec;
  }

  String id() {
    return id;
  }

  Channel channel() {
    return channel;
  }

  /** Nanoseconds from the start of the TCP connect to the registration reply. */
  long registrationNanos() {
    return registrationNanos;
  }

  void registrationNanos(long nanos) {
    registrationNanos = nanos;
  }

  /**
   * Encodes {@code m} on the calling thread into a pooled buffer and queues it; the write happens
   * on the channel's event loop.
   */
  ChannelFuture send(ClientMessage m) {
    return channel.writeAndFlush(frame(m));
  }

  TextWebSocketFrame frame(ClientMessage m) {
    ByteBuf buf = channel.alloc().buffer(256);
    try {
      codec.encode(m, new ByteBufOutputStream(buf));
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
    return new TextWebSocketFrame(buf);
  }

  ChannelFuture close() {
    return channel.close();
  }
}
