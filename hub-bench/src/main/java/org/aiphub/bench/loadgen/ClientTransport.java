package org.aiphub.bench.loadgen;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Client-side Netty transport: native epoll when it loads (as the hub uses), NIO otherwise. */
final class ClientTransport {
  private ClientTransport() {}

  static boolean epoll() {
    return Epoll.isAvailable();
  }

  static String name() {
    return epoll() ? "epoll" : "nio";
  }

  static EventLoopGroup group(int threads, String name) {
    IoHandlerFactory io = epoll() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), io);
  }

  static Class<? extends SocketChannel> channel() {
    return epoll() ? EpollSocketChannel.class : NioSocketChannel.class;
  }
}
