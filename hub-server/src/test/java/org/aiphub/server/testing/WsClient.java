package org.aiphub.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ServerMessage;

/**
 * A real WebSocket client (the JDK's {@code java.net.http}), as a test sees it: send text, take the
 * next frame, wait for the close.
 */
public final class WsClient implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final AipCodec CODEC = new AipCodec();
  public static final Duration WAIT = Duration.ofSeconds(10);

  private final BlockingQueue<String> inbox = new LinkedBlockingQueue<>();
  private final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private volatile String closeReason;
  private WebSocket ws;
  private volatile boolean binary;

  private WsClient() {}

  /** Opens a connection; fails the test when the upgrade is refused. */
  public static WsClient connect(URI uri) {
    return connect(HTTP, uri);
  }

  /**
   * Opens a connection through {@code http} (e.g. a client trusting a test certificate, for {@code
   * wss://}); fails the test when the upgrade is refused.
   */
  public static WsClient connect(HttpClient http, URI uri) {
    try {
      return open(http, uri).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("could not connect to " + uri, e);
    }
  }

  /** Starts a connection attempt; the future fails when the upgrade is refused. */
  public static CompletableFuture<WsClient> open(URI uri) {
    return open(HTTP, uri);
  }

  /** Starts a connection attempt through {@code http}; fails when the upgrade is refused. */
  public static CompletableFuture<WsClient> open(HttpClient http, URI uri) {
    WsClient c = new WsClient();
    return http.newWebSocketBuilder()
        .connectTimeout(WAIT)
        .buildAsync(uri, c.listener())
        .thenApply(
            w -> {
              c.ws = w;
              return c;
            });
  }

  private WebSocket.Listener listener() {
    return new WebSocket.Listener() {
      private final StringBuilder partial = new StringBuilder();

      @Override
      public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          inbox.add(partial.toString());
          partial.setLength(0);
        }
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
        inbox.add("<binary frame>");
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
        closeReason = reason;
        closed.complete(statusCode);
        return null;
      }

      @Override
      public void onError(WebSocket w, Throwable error) {
        closed.complete(-1);
      }
    };
  }

  /**
   * Sends one text frame (waits until it is handed to the socket); after {@link #binaryFrames()},
   * one binary frame of the text's UTF-8 bytes, as Galaxy sends every frame.
   */
  public synchronized WsClient send(String text) {
    if (binary) {
      ws.sendBinary(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), true).join();
    } else {
      ws.sendText(text, true).join();
    }
    return this;
  }

  /** From now on {@link #send(String)} sends binary frames. */
  public WsClient binaryFrames() {
    binary = true;
    return this;
  }

  /** Sends one binary frame. */
  public synchronized WsClient sendBinary(byte[] bytes) {
    ws.sendBinary(ByteBuffer.wrap(bytes), true).join();
    return this;
  }

  /** The next frame's raw text. */
  public String nextText() {
    try {
      String s = inbox.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (s == null) {
        fail("no frame within " + WAIT);
      }
      return s;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next frame, decoded. */
  public ServerMessage next() {
    String text = nextText();
    try {
      return CODEC.decodeServer(text);
    } catch (AipDecodeException e) {
      throw new AssertionError("hub sent an invalid frame: " + text, e);
    }
  }

  /** Skips frames until one matches (e.g. over heartbeat acks). */
  public ServerMessage next(Predicate<ServerMessage> wanted) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      ServerMessage m = next();
      if (wanted.test(m)) {
        return m;
      }
    }
    throw new AssertionError("no matching frame within " + WAIT);
  }

  /** Asserts that no frame arrives within {@code quiet}. */
  public void expectNothing(Duration quiet) {
    try {
      String s = inbox.poll(quiet.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(s).as("unexpected frame").isNull();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Frames received and not yet taken. */
  public int pending() {
    return inbox.size();
  }

  /** Waits for the hub to close the connection and returns the close code. */
  public int awaitClose() {
    try {
      return closed.get(WAIT.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("connection not closed within " + WAIT, e);
    }
  }

  /** The reason of the close frame, once closed. */
  public String closeReason() {
    return closeReason;
  }

  /** Whether the hub closed the connection. */
  public boolean isClosed() {
    return closed.isDone();
  }

  /** Drops the TCP connection without a close handshake. */
  public void abort() {
    ws.abort();
  }

  /** Starts the close handshake and waits for the hub's answer. */
  @Override
  public void close() {
    if (ws != null && !ws.isOutputClosed()) {
      try {
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        closed.get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        ws.abort();
      }
    }
  }
}
