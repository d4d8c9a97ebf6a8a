package org.aiphub.core.registry;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiphub.core.aip.ServerMessage;

/**
 * One client's live connection, as hub-core sees it. hub-server implements it over a Netty channel;
 * every method may be called from any thread and must not block.
 */
public interface ClientConnection {
  /** An id unique among this process's connections, for logs and identity checks. */
  String id();

  /** Queues a message for the client; never blocks, silently drops if the connection is gone. */
  void send(ServerMessage message);

  /**
   * Queues a message and runs {@code onWritten}, on any thread, once it was written to the socket
   * (never when the write fails). Implementations that cannot observe writes run it when the
   * message is queued.
   */
  default void send(ServerMessage message, Runnable onWritten) {
    send(message);
    onWritten.run();
  }

  /**
   * Queues a message whose loss matters (a task outcome): {@code onFailure} runs, on any thread,
   * when the connection was already closing or the write failed, so the caller can keep the message
   * for later. Implementations that cannot observe write failures fall back to {@link #send}.
   */
  default void deliver(ServerMessage message, Runnable onFailure) {
    send(message);
  }

  /**
   * Checks that the peer is still there: completes with {@code true} if it shows any sign of life
   * (e.g. answers a ping) within {@code timeout}, {@code false} otherwise. Implementations that
   * cannot probe report {@code true}, so a live holder is never replaced by mistake.
   */
  default CompletionStage<Boolean> probe(Duration timeout) {
    return CompletableFuture.completedFuture(true);
  }

  /**
   * Whether a message sent now can reach the client at all. Local connections always can; a client
   * held by another hub node cannot while the cluster backplane is down, and routing refuses work
   * for it up front instead of losing it.
   */
  default boolean reachable() {
    return true;
  }

  /** Closes the connection with a WebSocket close code and a short reason. */
  void close(int code, String reason);

  /** The peer's address for logs, e.g. {@code 127.0.0.1:53122}. */
  String remoteAddress();
}
