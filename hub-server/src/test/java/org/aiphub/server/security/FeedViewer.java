package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A dashboard viewer on a plain socket: {@code GET /api/events} with the operator key and the given
 * header lines, checked to be a 200 event stream, then every byte the hub streams is kept (chunk
 * framing included) by a reader thread until the socket closes.
 */
final class FeedViewer implements AutoCloseable {
  private final RawSocket socket;
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();
  private final Thread reader;

  private FeedViewer(RawSocket socket) {
    this.socket = socket;
    this.reader = new Thread(this::readAll, "feed-viewer");
    reader.setDaemon(true);
  }

  /**
   * A viewer with the right key and {@code headerLines}, and the hub's own {@code Host} unless they
   * name one.
   */
  static FeedViewer open(Arena a, String... headerLines) {
    List<String> headers = new ArrayList<>(List.of(headerLines));
    if (headers.stream().noneMatch(h -> h.regionMatches(true, 0, "Host:", 0, 5))) {
      headers.add(0, RawSocket.host(a.hub()));
    }
    headers.add("X-API-Key: " + a.hub().operatorKey());
    headers.add("Accept: text/event-stream");
    RawSocket s = a.socket();
    s.write(RawSocket.get("/api/events", headers.toArray(new String[0])));
    RawSocket.Reply r = s.readReply();
    assertThat(r.status()).as("feed answer %s", r).isEqualTo(200);
    assertThat(r.headers().get("content-type")).as("%s", r).startsWith("text/event-stream");
    FeedViewer v = new FeedViewer(s.timeout(0));
    v.reader.start();
    return v;
  }

  private void readAll() {
    InputStream in = socket.input();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        synchronized (received) {
          received.write(buf, 0, n);
        }
      }
    } catch (IOException e) {
      // closed under the reader (close()) or reset by the hub: what came is all there is
    }
  }

  /** Everything streamed so far, as text. */
  String text() {
    synchronized (received) {
      return received.toString(StandardCharsets.UTF_8);
    }
  }

  /** Waits (generously) until the stream holds {@code fragment}; returns everything so far. */
  String awaitText(String fragment) {
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> text().contains(fragment));
    return text();
  }

  /** Drops the connection and waits for the reader to stop. */
  @Override
  public void close() {
    socket.abort();
    try {
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
