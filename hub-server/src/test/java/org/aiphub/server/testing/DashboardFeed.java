package org.aiphub.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The dashboard's live feed ({@code GET /api/events}) read the way the page reads it: a snapshot,
 * then deltas and samples, each event's JSON parsed. A reader thread queues the events; a test
 * waits for the one it expects. Close it when done.
 */
public final class DashboardFeed implements AutoCloseable {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private static final ObjectMapper JSON = new ObjectMapper();

  private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
  private final InputStream body;

  private DashboardFeed(InputStream body) {
    this.body = body;
    Thread reader = new Thread(this::read, "dashboard-feed-reader");
    reader.setDaemon(true);
    reader.start();
  }

  /** Opens the feed of {@code hub} with the test key. */
  public static DashboardFeed open(TestHub hub) {
    HttpRequest request =
        HttpRequest.newBuilder(hub.http("/api/events")).header("X-API-Key", TestHub.KEY).build();
    try {
      HttpResponse<InputStream> r = CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
      assertThat(r.statusCode()).as("status of the feed").isEqualTo(200);
      return new DashboardFeed(r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private void read() {
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      StringBuilder data = new StringBuilder();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.startsWith("data: ")) {
          data.append(line, "data: ".length(), line.length());
        } else if (line.isEmpty() && data.length() > 0) {
          events.add(JSON.readTree(data.toString()));
          data.setLength(0);
        }
      }
    } catch (IOException e) {
      // closed: nothing more will come
    }
  }

  /**
   * Waits for the next event that {@code wanted} accepts, skipping the others.
   *
   * @throws AssertionError when none came within {@code within}, listing the events skipped
   */
  public JsonNode next(String what, Predicate<JsonNode> wanted, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    List<String> skipped = new ArrayList<>();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        JsonNode e = left <= 0 ? null : events.poll(left, TimeUnit.NANOSECONDS);
        if (e == null) {
          throw new AssertionError(
              "no " + what + " on the feed within " + within + "; skipped: " + skipped);
        }
        if (wanted.test(e)) {
          return e;
        }
        skipped.add(e.get("type").asText());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits for the snapshot that starts every feed. */
  public JsonNode snapshot() {
    return next(
        "snapshot", e -> "snapshot".equals(e.path("type").asText()), Duration.ofSeconds(10));
  }

  /**
   * Waits for a delta carrying client {@code id} with a row that {@code row} accepts, and returns
   * that row.
   */
  public JsonNode client(String id, Predicate<JsonNode> row, Duration within) {
    JsonNode delta =
        next(
            "delta with a matching row for " + id,
            e -> clientRow(e, id) != null && row.test(clientRow(e, id)),
            within);
    return clientRow(delta, id);
  }

  /** The row of client {@code id} in a delta or a snapshot, or null. */
  public static JsonNode clientRow(JsonNode event, String id) {
    for (String list : List.of("clients", "devices", "constellations")) {
      for (JsonNode c : event.path(list)) {
        if (id.equals(c.path("id").asText())) {
          return c;
        }
      }
    }
    return null;
  }

  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException e) {
      // already gone
    }
  }
}
