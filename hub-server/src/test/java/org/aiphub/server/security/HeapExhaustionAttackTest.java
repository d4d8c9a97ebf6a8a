package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.FatalErrors;
import org.aiphub.server.e2e.HubProcess;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 1, on a hub in its own JVM with a small heap, as an operator runs it. Every
 * string of {@code supported_features} used to become a key of the capability index, about 22 times
 * the frame in heap: at -Xmx256m the third 4 MB registration got no answer, event loops died of
 * OutOfMemoryError, {@code /healthz} and SIGTERM stopped working. Now such registrations are
 * refused by {@code max_device_features} (or {@code max_json_tokens} first, for the smallest
 * features; {@code max_client_info_bytes} bounds the rest, see {@code ClientInfoLimitsTest}) while
 * a canary device keeps heartbeating within a second, and the hub still stops cleanly; and where an
 * operator raises the limits past what the heap holds, the hub exits at once with code 3 instead of
 * limping on.
 */
class HeapExhaustionAttackTest {
  private static final String KEY = "heap-attack-key-0123456789";

  @TempDir Path dir;

  /** A registration of about 3.9 MB: {@code n} distinct features of 24 characters. */
  private static String bigRegistration(String id, int n) {
    StringBuilder b =
        new StringBuilder(n * 27 + 200)
            .append("{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",")
            .append("\"client_id\":\"")
            .append(id)
            .append("\",\"metadata\":{\"platform\":\"linux\",\"system_info\":{")
            .append("\"supported_features\":[");
    for (int i = 0; i < n; i++) {
      b.append("\"").append(String.format("%s-feature-%010d", id.substring(0, 3), i)).append("\",");
    }
    b.setCharAt(b.length() - 1, ']');
    return b.append("}}}").toString();
  }

  private static URI ws(int port) {
    return URI.create("ws://127.0.0.1:" + port + "/ws?token=" + KEY);
  }

  private static int healthz(int port) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  @Test
  void bigRegistrationsAreRefusedAndTheHubStaysUpAtASmallHeap() throws Exception {
    try (HubProcess hub =
        HubProcess.start(
            dir,
            Map.of(),
            List.of("-Xmx128m", "-XX:+UseSerialGC"),
            "--port",
            "0",
            "--api-key",
            KEY)) {
      int port = hub.awaitListening();
      WsClient canaryClient = WsClient.connect(ws(port));
      canaryClient.send(JsonFrames.registerDevice("canary-dev", "linux", List.of("gui")));
      Clients.assertRegistered(canaryClient.next());
      Canary canary = Canary.start(canaryClient, "canary-dev");

      // Eight 4 MB registrations, one after another: before the fix the second or third killed
      // a hub of this heap. 145,000 features pass the token budget and reach the registry.
      for (int i = 0; i < 8; i++) {
        String id = "mal-" + i;
        try (WsClient m = WsClient.connect(ws(port))) {
          m.send(bigRegistration(id, 145_000));
          ServerMessage reply = m.next();
          assertThat(reply.type()).as("%s", reply).isEqualTo(ServerMessageType.ERROR);
          assertThat(reply.error())
              .isEqualTo(
                  "metadata.system_info.supported_features has 145000 entries, more than"
                      + " max_device_features (256)");
          assertThat(m.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
        }
      }
      // Smaller features: more of them than max_json_tokens allows.
      try (WsClient m = WsClient.connect(ws(port))) {
        StringBuilder b =
            new StringBuilder("{\"type\":\"register\",\"status\":\"ok\",\"client_id\":\"mal-x\",")
                .append("\"metadata\":{\"system_info\":{\"supported_features\":[");
        for (int i = 0; i < 400_000; i++) {
          b.append('"').append(Integer.toString(i, 36)).append("\",");
        }
        b.setCharAt(b.length() - 1, ']');
        m.send(b.append("}}}").toString());
        assertThat(m.next().error())
            .isEqualTo(
                "registration failed: frame has more than 200000 JSON tokens (max_json_tokens)");
        assertThat(m.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      }

      canary.closeAfter(5);
      canary.assertResponsive(5);
      assertThat(healthz(port)).isEqualTo(200);
      Arena.assertOnlyAnswer(canaryClient, "canary-dev");
      hub.signal("TERM");
      assertThat(hub.awaitExit(Duration.ofSeconds(30))).as(hub.log()).isZero();
      assertThat(hub.log()).doesNotContain("OutOfMemoryError");
    }
  }

  @Test
  void withTheLimitsRaisedPastTheHeapTheHubExitsWithCode3AtTheFirstOutOfMemoryError()
      throws Exception {
    // No -XX:+ExitOnOutOfMemoryError here: this is the hub's own handler at work.
    try (HubProcess hub =
        HubProcess.start(
            dir,
            Map.of(
                "HUB_MAX_JSON_TOKENS", "10000000",
                "HUB_MAX_CLIENT_INFO_BYTES", "64MiB",
                "HUB_MAX_DEVICE_FEATURES", "10000000"),
            List.of("-Xmx64m", "-XX:+UseSerialGC"),
            "--port",
            "0",
            "--api-key",
            KEY)) {
      int port = hub.awaitListening();
      for (int i = 0; i < 20 && hub.process().isAlive(); i++) {
        try {
          WsClient m = WsClient.connect(ws(port));
          m.send(bigRegistration("mal-" + i, 145_000));
        } catch (RuntimeException | AssertionError e) {
          break; // the hub is gone
        }
      }
      assertThat(hub.awaitExit(Duration.ofSeconds(60))).isEqualTo(FatalErrors.EXIT_CODE);
      assertThat(hub.log()).contains("java.lang.OutOfMemoryError: exiting with code 3");
    }
  }
}
