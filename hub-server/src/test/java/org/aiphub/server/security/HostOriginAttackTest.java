package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.ALLOWED_HOSTS;
import static org.aiphub.server.config.Settings.ALLOWED_ORIGINS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;

/**
 * Attack 2: DNS rebinding (a {@code Host} the hub does not answer to) and cross-site requests (a
 * browser {@code Origin} that is not allowed), on the WebSocket upgrade, on the HTTP API and on the
 * dashboard's live feed ({@code /api/events}), always with the right key: refused with 403 and a
 * JSON reason, before anything else happens (and nothing streamed), each refusal counted in {@code
 * hub_http_refusals_total{reason="bad_host"|"bad_origin"}}. A hub bound to loopback answers only to
 * loopback names by default; same-origin pages and configured names and origins are allowed.
 */
class HostOriginAttackTest {
  private final AtomicInteger probes = new AtomicInteger();

  @Test
  void onALoopbackHubForeignHostNamesAreRefusedOnTheUpgradeAndTheApi() {
    try (Arena a = Arena.start()) {
      int port = a.hub().port();
      List<String> rebinding =
          List.of(
              "evil.example.com",
              "evil.example.com:" + port,
              "localhost.evil.example.com:" + port,
              "127.0.0.1.nip.io:" + port,
              "0.0.0.0:" + port,
              "192.168.1.10:" + port,
              "[::ffff:7f00:1]:" + port,
              "localhost.:" + port);
      for (String host : rebinding) {
        assertThat(upgrade(a, "Host: " + host).error(403))
            .as("upgrade with Host %s", host)
            .contains("is not allowed");
        assertThat(api(a, "GET", "/api/clients", "Host: " + host).error(403))
            .as("API with Host %s", host)
            .contains("is not allowed");
        assertThat(dispatchToInnocent(a, "Host: " + host).error(403)).contains("is not allowed");
        assertThat(api(a, "GET", "/healthz", "Host: " + host).error(403))
            .as("even the public probe, with Host %s", host)
            .contains("is not allowed");
        assertThat(events(a, "Host: " + host).error(403))
            .as("dashboard feed with Host %s", host)
            .contains("is not allowed");
      }
      // Five refusals per name (upgrade, API, dispatch, probe, feed), each counted as bad_host.
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_host"))
          .isEqualTo(5 * rebinding.size());
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_origin")).isZero();
      for (String host :
          List.of(
              "localhost:" + port,
              "LOCALHOST:" + port,
              "127.0.0.1:" + port,
              "127.0.0.2:" + port,
              "[::1]:" + port,
              "dashboard.localhost:" + port)) {
        assertUpgrades(a, "Host: " + host);
        assertThat(api(a, "GET", "/api/clients", "Host: " + host).status())
            .as("API with Host %s", host)
            .isEqualTo(200);
      }
      try (FeedViewer v = FeedViewer.open(a, "Host: localhost:" + port)) {
        assertThat(v.awaitText("\"type\":\"snapshot\"")).contains(Arena.DEVICE);
      }
      assertNoFeedViewer(a);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void onALoopbackHubCrossSiteOriginsAreRefusedAndSameOriginAndLoopbackPagesAllowed() {
    try (Arena a = Arena.start()) {
      int port = a.hub().port();
      String host = RawSocket.host(a.hub());
      List<String> crossSite =
          List.of(
              "http://evil.example.com",
              "https://evil.example.com:" + port,
              "http://localhost.evil.example.com",
              "http://127.0.0.1.evil.example.com:" + port,
              "null",
              "file://",
              "ws://evil.example.com",
              "chrome-extension://abcdefghijklmnop",
              "http://0.0.0.0:" + port);
      for (String origin : crossSite) {
        assertThat(upgrade(a, host, "Origin: " + origin).error(403))
            .as("upgrade from Origin %s", origin)
            .contains("Origin")
            .contains("is not allowed");
        assertThat(api(a, "GET", "/api/sessions", host, "Origin: " + origin).error(403))
            .as("API from Origin %s", origin)
            .contains("is not allowed");
        assertThat(dispatchToInnocent(a, host, "Origin: " + origin).error(403))
            .contains("is not allowed");
        assertThat(events(a, host, "Origin: " + origin).error(403))
            .as("dashboard feed from Origin %s", origin)
            .contains("is not allowed");
      }
      // Four refusals per origin (upgrade, API, dispatch, feed), each counted as bad_origin.
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_origin"))
          .isEqualTo(4 * crossSite.size());
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_host")).isZero();
      for (String origin :
          List.of(
              "http://127.0.0.1:" + port, // same origin: the hub's own pages
              "http://localhost:3000", // a loopback page: allowed by default on a loopback hub
              "http://127.0.0.1:8080")) {
        assertUpgrades(a, host, "Origin: " + origin);
        assertThat(api(a, "GET", "/api/clients", host, "Origin: " + origin).status())
            .as("API from Origin %s", origin)
            .isEqualTo(200);
      }
      // The dashboard page served by the hub itself gets its feed.
      try (FeedViewer v = FeedViewer.open(a, "Origin: http://127.0.0.1:" + port)) {
        assertThat(v.awaitText("\"type\":\"snapshot\"")).contains(Arena.DEVICE);
      }
      assertNoFeedViewer(a);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void configuredHostsAndOriginsAreTheOnlyOnesAllowed() {
    try (Arena a =
        Arena.start(
            b ->
                b.set(ALLOWED_HOSTS, List.of("hub.example.com", "127.0.0.1"))
                    .set(ALLOWED_ORIGINS, List.of("https://dash.example.com")))) {
      String named = "Host: hub.example.com";
      for (String host : List.of("Host: localhost:" + a.hub().port(), "Host: evil.example.com")) {
        assertThat(upgrade(a, host).error(403)).as(host).contains("is not allowed");
        assertThat(api(a, "GET", "/api/stats", host).error(403)).as(host).contains("not allowed");
        assertThat(events(a, host).error(403)).as(host).contains("not allowed");
      }
      // A request without any Host: malformed in HTTP/1.1 (400, before any access check); in
      // HTTP/1.0, where it is allowed, there is nothing to check it against, so it is refused.
      assertThat(upgrade(a).error(400)).contains("requires a Host header");
      assertThat(api(a, "GET", "/api/stats").error(400)).contains("requires a Host header");
      assertThat(events(a).error(400)).contains("requires a Host header");
      RawSocket old = a.socket();
      old.write("GET /api/stats HTTP/1.0\r\nX-API-Key: " + TestHub.KEY + "\r\n\r\n");
      assertThat(old.readReply().error(403)).contains("a Host header is required");
      for (String origin :
          List.of(
              "https://evil.example.com",
              "http://dash.example.com", // the right name over the wrong scheme
              "https://dash.example.com.evil.example.com",
              "https://dash.example.com:8443",
              "http://localhost:3000")) { // loopback pages lose their default once origins are set
        assertThat(upgrade(a, named, "Origin: " + origin).error(403))
            .as("upgrade from %s", origin)
            .contains("is not allowed");
        assertThat(api(a, "GET", "/api/stats", named, "Origin: " + origin).error(403))
            .as("API from %s", origin)
            .contains("is not allowed");
        assertThat(dispatchToInnocent(a, named, "Origin: " + origin).error(403))
            .contains("is not allowed");
        assertThat(events(a, named, "Origin: " + origin).error(403))
            .as("dashboard feed from %s", origin)
            .contains("is not allowed");
      }
      // Three refusals (upgrade, API, feed) for each of two names, one for HTTP/1.0 without a
      // Host; four (and dispatch) for each origin.
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_host")).isEqualTo(7);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_request")).isEqualTo(3);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_origin")).isEqualTo(20);
      assertUpgrades(a, "Host: HUB.example.com:443");
      assertUpgrades(a, named, "Origin: https://dash.example.com");
      assertUpgrades(a, named, "Origin: http://hub.example.com"); // same origin
      assertThat(api(a, "GET", "/api/stats", named, "Origin: https://dash.example.com").status())
          .isEqualTo(200);
      try (FeedViewer v = FeedViewer.open(a, named, "Origin: https://dash.example.com")) {
        assertThat(v.awaitText("\"type\":\"snapshot\"")).contains(Arena.DEVICE);
      }
      assertNoFeedViewer(a);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  /** An upgrade with the right key and the given header lines; its answer. */
  private static RawSocket.Reply upgrade(Arena a, String... headers) {
    RawSocket s = a.socket();
    s.write(RawSocket.upgrade(RawSocket.wsTarget(), headers));
    RawSocket.Reply r = s.readReply();
    if (r.status() != 101) {
      assertThat(r.headers()).as("%s", r).doesNotContainKeys("upgrade", "sec-websocket-accept");
      assertThat(s.closedByHub()).as("closed after %s", r).isTrue();
    }
    return r;
  }

  /** The upgrade goes through, and the socket then speaks AIP: a registration is answered. */
  private void assertUpgrades(Arena a, String... headers) {
    RawSocket s = a.socket();
    s.write(RawSocket.upgrade(RawSocket.wsTarget(), headers));
    RawSocket.Reply r = s.readReply();
    assertThat(r.status()).as("upgrade with %s: %s", List.of(headers), r).isEqualTo(101);
    String id = "probe-" + probes.incrementAndGet();
    s.write(RawSocket.text(ClientFrames.registerDevice(id)));
    RawWsClient.Frame reply = s.readFrame();
    assertThat(reply).isNotNull();
    ServerMessage m = reply.message();
    assertThat(m.type()).as("reply %s", m).isEqualTo(ServerMessageType.HEARTBEAT);
    s.abort();
  }

  /** An HTTP request with the right key and the given header lines; its answer. */
  private static RawSocket.Reply api(Arena a, String method, String path, String... headers) {
    RawSocket s = a.socket();
    StringBuilder b = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
    for (String h : headers) {
      b.append(h).append("\r\n");
    }
    b.append("X-API-Key: ").append(TestHub.KEY).append("\r\nConnection: close\r\n\r\n");
    s.write(b.toString());
    return s.readReply();
  }

  /**
   * A {@code GET /api/events} (the dashboard feed) with the right key, the given header lines and
   * {@code Connection: close}; its answer, once the hub has closed the connection with not one byte
   * after it (a refused feed streams nothing; an accepted one would stay open and fail this).
   */
  private static RawSocket.Reply events(Arena a, String... headers) {
    RawSocket s = a.socket();
    StringBuilder b = new StringBuilder("GET /api/events HTTP/1.1\r\n");
    for (String h : headers) {
      b.append(h).append("\r\n");
    }
    b.append("X-API-Key: ")
        .append(TestHub.KEY)
        .append("\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n");
    s.write(b.toString());
    RawSocket.Reply r = s.readReply();
    assertThat(r.headers().get("content-type")).as("%s", r).doesNotContain("event-stream");
    assertThat(s.readToEnd()).as("bytes after %s", r).isEmpty();
    return r;
  }

  /** Nobody is left watching the feed (the refused ones never were). */
  private static void assertNoFeedViewer(Arena a) {
    await().until(() -> HubState.feedViewers(a.hub().server()) == 0);
  }

  /** A POST /api/dispatch at the innocent device with the right key and the given headers. */
  private static RawSocket.Reply dispatchToInnocent(Arena a, String... headers) {
    String body = HubHttp.write(Map.of("client_id", Arena.DEVICE, "request", "exfiltrate"));
    RawSocket s = a.socket();
    StringBuilder b = new StringBuilder("POST /api/dispatch HTTP/1.1\r\n");
    for (String h : headers) {
      b.append(h).append("\r\n");
    }
    b.append("X-API-Key: ")
        .append(TestHub.KEY)
        .append("\r\nContent-Type: application/json\r\nContent-Length: ")
        .append(body.length())
        .append("\r\nConnection: close\r\n\r\n")
        .append(body);
    s.write(b.toString());
    return s.readReply();
  }
}
