package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.SO_BACKLOG;
import static org.aiphub.server.config.Settings.WORKER_THREADS;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_HIGH;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_LOW;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import java.lang.reflect.Field;
import java.util.Locale;
import org.aiphub.server.HubServer;
import org.aiphub.server.netty.Transport;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubInternals;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * The transport and socket options the server issue asks for reach the real sockets: epoll on Linux
 * when its library loads, {@code TCP_NODELAY} and the configured write-buffer water marks on every
 * accepted socket, and the configured accept backlog on the listening one.
 */
class SocketOptionsEndToEndTest {
  @Test
  void acceptedSocketsCarryTheConfiguredOptionsOnTheBestTransport() throws Exception {
    try (TestHub hub =
            TestHub.start(
                b ->
                    b.set(SO_BACKLOG, 321)
                        .set(WRITE_BUFFER_LOW, 48 * 1024)
                        .set(WRITE_BUFFER_HIGH, 96 * 1024)
                        .set(WORKER_THREADS, 2));
        WsClient device = Clients.device(hub, "dev-1")) {
      HubServer server = hub.server();
      boolean linux = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux");
      if (linux && Epoll.isAvailable()) {
        assertThat(server.transport()).isEqualTo(Transport.EPOLL);
      } else {
        assertThat(server.transport()).isEqualTo(Transport.NIO);
      }

      Channel child = HubInternals.channel(server.registry().getClient("dev-1").orElseThrow());
      assertThat(child.getClass().getSimpleName())
          .startsWith(server.transport() == Transport.EPOLL ? "Epoll" : "Nio");
      assertThat(child.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
      assertThat(device.isClosed()).isFalse();
      WriteBufferWaterMark marks = child.config().getOption(ChannelOption.WRITE_BUFFER_WATER_MARK);
      assertThat(marks.low()).isEqualTo(48 * 1024);
      assertThat(marks.high()).isEqualTo(96 * 1024);

      Channel listening = serverChannel(server);
      assertThat(listening.config().getOption(ChannelOption.SO_BACKLOG)).isEqualTo(321);
      assertThat(listening.config().getOption(ChannelOption.SO_REUSEADDR)).isTrue();
      assertThat(
              ((io.netty.util.concurrent.MultithreadEventExecutorGroup) child.eventLoop().parent())
                  .executorCount())
          .as("worker_threads")
          .isEqualTo(2);
    }
  }

  private static Channel serverChannel(HubServer server) throws ReflectiveOperationException {
    Field f = HubServer.class.getDeclaredField("serverChannel");
    f.setAccessible(true);
    return (Channel) f.get(server);
  }
}
