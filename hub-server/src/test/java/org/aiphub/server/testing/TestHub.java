package org.aiphub.server.testing;

import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.HOST;
import static org.aiphub.server.config.Settings.PORT;
import static org.aiphub.server.config.Settings.WORKER_THREADS;

import java.net.URI;
import java.util.function.UnaryOperator;
import org.aiphub.server.HubServer;
import org.aiphub.server.config.HubConfig;

/** A hub on a free loopback port, with a known key; close it when done. */
public final class TestHub implements AutoCloseable {
  public static final String KEY = "test-key-0123456789";

  /** An operator key ({@code admin_key}) for tests that set one; none is set by default. */
  public static final String ADMIN_KEY = "test-admin-key-0123456789";

  private final HubServer server;

  private TestHub(HubServer server) {
    this.server = server;
  }

  /** A hub with test defaults. */
  public static TestHub start() {
    return start(b -> b);
  }

  /** A hub with test defaults adjusted by {@code tweak}. */
  public static TestHub start(UnaryOperator<HubConfig.Builder> tweak) {
    HubConfig.Builder b =
        HubConfig.builder()
            .set(HOST, "127.0.0.1")
            .set(PORT, 0)
            .set(API_KEY, KEY)
            .set(WORKER_THREADS, 2);
    try {
      return new TestHub(HubServer.start(tweak.apply(b).build()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  public HubServer server() {
    return server;
  }

  public int port() {
    return server.port();
  }

  /**
   * The key the HTTP API, {@code /metrics} and the dashboard take from this hub's operators: its
   * {@code admin_key} when it has one, else the client key.
   */
  public String operatorKey() {
    String admin = server.config().security().adminKey();
    return admin == null ? KEY : admin;
  }

  /** The AIP endpoint with the right key. */
  public URI wsUri() {
    return URI.create(
        "ws://127.0.0.1:" + port() + server.config().listen().wsPath() + "?token=" + KEY);
  }

  /** An HTTP URL on the hub. */
  public URI http(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  /** A connected client. */
  public WsClient connect() {
    return WsClient.connect(wsUri());
  }

  @Override
  public void close() {
    server.close();
  }
}
