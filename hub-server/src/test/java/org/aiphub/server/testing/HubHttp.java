package org.aiphub.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The hub's HTTP API over a real socket ({@code java.net.http}, HTTP/1.1): requests carry the hub's
 * operator key unless asked otherwise, and answers come back with their status, headers and body,
 * the JSON ones parsed. Every answer is also remembered, so a test can check all bodies it saw at
 * once.
 */
public final class HubHttp {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(15);

  private final int port;
  private final String operatorKey;
  private final List<Reply> seen = new CopyOnWriteArrayList<>();

  /** A client for {@code hub}. */
  public HubHttp(TestHub hub) {
    this(hub.port(), hub.operatorKey());
  }

  /**
   * A client for a hub on loopback {@code port} whose operator key is {@code operatorKey} (a hub in
   * a process of its own, say).
   */
  public HubHttp(int port, String operatorKey) {
    this.port = port;
    this.operatorKey = operatorKey;
  }

  /**
   * One HTTP answer.
   *
   * @param method the request's method
   * @param path the request's path and query
   * @param status the status code
   * @param headers the response headers
   * @param body the body as text
   */
  public record Reply(String method, String path, int status, HttpHeaders headers, String body) {
    /** The Content-Type header, or the empty string. */
    public String contentType() {
      return headers.firstValue("content-type").orElse("");
    }

    /** The body parsed as a JSON object. */
    public Map<String, Object> json() {
      assertThat(contentType()).as("content type of %s", this).startsWith("application/json");
      return object(body);
    }

    /** The {@code error} text of a JSON error answer, checking its shape and status. */
    public String error(int expectedStatus) {
      assertThat(status).as("status of %s", this).isEqualTo(expectedStatus);
      Map<String, Object> m = json();
      assertThat(m).as("error body of %s", this).containsOnlyKeys("error");
      assertThat(m.get("error")).as("error of %s", this).isInstanceOf(String.class);
      String e = (String) m.get("error");
      assertThat(e).as("error of %s", this).isNotBlank();
      return e;
    }

    /** The body parsed as JSON, after checking the status is {@code expectedStatus}. */
    public Map<String, Object> ok(int expectedStatus) {
      assertThat(status).as("status of %s", this).isEqualTo(expectedStatus);
      return json();
    }

    @Override
    public String toString() {
      return method + " " + path + " -> " + status + " " + body;
    }
  }

  /** A request for {@code path} without any key. */
  public HttpRequest.Builder bare(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT);
  }

  /**
   * A request for {@code path} with {@code X-API-Key:} the hub's operator key (its {@code
   * admin_key}, or the client key when it has none).
   */
  public HttpRequest.Builder keyed(String path) {
    return bare(path).header("X-API-Key", operatorKey);
  }

  /** The URI of {@code path} (which may hold a query and percent escapes, sent as they are). */
  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  /** GET with the key. */
  public Reply get(String path) {
    return send(keyed(path).GET());
  }

  /** POST of a JSON body with the key. */
  public Reply post(String path, String jsonBody) {
    return send(
        keyed(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(jsonBody)));
  }

  /** POST of a JSON body given as a map, with the key. */
  public Reply post(String path, Map<String, ?> body) {
    return post(path, write(body));
  }

  /** Sends a request and records its answer. */
  public Reply send(HttpRequest.Builder request) {
    HttpRequest r = request.build();
    try {
      HttpResponse<String> resp = CLIENT.send(r, HttpResponse.BodyHandlers.ofString());
      String p =
          r.uri().getRawPath() + (r.uri().getRawQuery() == null ? "" : "?" + r.uri().getRawQuery());
      Reply reply = new Reply(r.method(), p, resp.statusCode(), resp.headers(), resp.body());
      seen.add(reply);
      return reply;
    } catch (IOException e) {
      throw new AssertionError("HTTP " + r.method() + " " + r.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Every answer this client received so far. */
  public List<Reply> seen() {
    return List.copyOf(seen);
  }

  /** Parses a JSON object. */
  public static Map<String, Object> object(String json) {
    try {
      return JSON.readValue(json, new TypeReference<Map<String, Object>>() {});
    } catch (JsonProcessingException e) {
      throw new AssertionError("not a JSON object: " + json, e);
    }
  }

  /** Writes a JSON value (control characters escaped as JSON requires). */
  public static String write(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }
}
