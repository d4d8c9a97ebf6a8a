package org.aiphub.server.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ServerMessage;

/**
 * An event-driven AIP client over {@code java.net.http}: every frame goes to a handler as it
 * arrives (no thread per client), and sends are chained so that two never overlap on one socket, as
 * {@code java.net.http} requires. Every peer shares one {@link HttpClient}, so hundreds of them run
 * on one selector thread.
 */
public final class AipPeer {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final AipCodec CODEC = new AipCodec();

  /** Reacts to one frame; runs on the client's thread, one frame at a time per peer. */
  @FunctionalInterface
  public interface Handler {
    void onMessage(AipPeer peer, ServerMessage message);
  }

  private final Handler handler;
  private final CompletableFuture<ServerMessage> first = new CompletableFuture<>();
  private final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private final List<String> problems = new CopyOnWriteArrayList<>();
  private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);
  private volatile WebSocket ws;

  private AipPeer(Handler handler) {
    this.handler = handler;
  }

  /** The one HTTP client all peers share (also for tests that build a socket themselves). */
  public static HttpClient http() {
    return HTTP;
  }

  /** Opens a connection; the future fails when the upgrade is refused. */
  public static CompletableFuture<AipPeer> open(URI uri, Handler handler) {
    AipPeer p = new AipPeer(handler);
    return HTTP.newWebSocketBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .buildAsync(uri, p.listener())
        .thenApply(
            w -> {
              p.ws = w;
              return p;
            });
  }

  /** Opens a connection, waiting for it. */
  public static AipPeer connect(URI uri, Handler handler) {
    try {
      return open(uri, handler).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("could not connect to " + uri, e);
    }
  }

  private WebSocket.Listener listener() {
    return new WebSocket.Listener() {
      private final StringBuilder partial = new StringBuilder();

      @Override
      public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          String text = partial.toString();
          partial.setLength(0);
          dispatch(text);
        }
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
        problems.add("the hub sent a binary frame");
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
        closed.complete(statusCode);
        return null;
      }

      @Override
      public void onError(WebSocket w, Throwable error) {
        closed.complete(-1);
      }
    };
  }

  private void dispatch(String text) {
    ServerMessage m;
    try {
      m = CODEC.decodeServer(text);
    } catch (AipDecodeException e) {
      problems.add("invalid frame from the hub: " + text);
      return;
    }
    first.complete(m);
    try {
      handler.onMessage(this, m);
    } catch (RuntimeException | AssertionError e) {
      problems.add("handler failed on " + text + ": " + e);
    }
  }

  /** Queues one text frame behind every earlier send of this peer. */
  public CompletableFuture<Void> send(String text) {
    return sendText(text, true);
  }

  /** Queues one text fragment ({@code last} false for all but the final one). */
  public synchronized CompletableFuture<Void> sendText(String part, boolean last) {
    CompletableFuture<Void> next =
        tail.handle((v, e) -> null)
            .thenCompose(x -> ws.sendText(part, last))
            .thenApply(w -> (Void) null);
    tail = next;
    return next;
  }

  /** Starts the close handshake behind the queued sends; completes with the hub's close code. */
  public synchronized CompletableFuture<Integer> closeCleanly() {
    tail =
        tail.handle((v, e) -> null)
            .thenCompose(x -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye"))
            .exceptionally(
                e -> {
                  ws.abort();
                  return ws;
                });
    return closed;
  }

  /** Drops the TCP connection without a close handshake. */
  public void abort() {
    ws.abort();
  }

  /** The first frame the hub sent (the registration reply). */
  public CompletableFuture<ServerMessage> first() {
    return first;
  }

  /** Completes with the close code once the connection is closed (-1 on an error). */
  public CompletableFuture<Integer> closed() {
    return closed;
  }

  /** Frames that did not decode and handler failures; empty when all went well. */
  public List<String> problems() {
    return problems;
  }
}
