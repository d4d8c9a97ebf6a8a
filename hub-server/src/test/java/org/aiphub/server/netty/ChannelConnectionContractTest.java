package org.aiphub.server.netty;

import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.testing.ClientConnectionContract;
import org.junit.jupiter.api.AfterEach;

/**
 * The {@link ClientConnection} contract for {@link ChannelConnection}, the hub's connection over a
 * WebSocket channel: here an {@link EmbeddedChannel} with the connection handler, as in the hub's
 * pipeline. It observes its writes: a closing connection fails deliveries and reports nothing
 * written.
 */
class ChannelConnectionContractTest extends ClientConnectionContract {
  private final RouterFixture hub = new RouterFixture();
  private final List<EmbeddedChannel> channels = new ArrayList<>();

  @Override
  protected ClientConnection open() {
    ConnectionHandler handler =
        new ConnectionHandler(
            hub.router, Duration.ofSeconds(10), 20, new RecordingConnectionEvents(), null);
    EmbeddedChannel channel = new EmbeddedChannel(handler);
    channels.add(channel);
    return handler.connection();
  }

  @Override
  protected void settle() {
    for (EmbeddedChannel c : channels) {
      c.runPendingTasks();
      c.releaseOutbound();
    }
  }

  @Override
  protected boolean observesWrites() {
    return true;
  }

  @AfterEach
  void close() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
  }
}
