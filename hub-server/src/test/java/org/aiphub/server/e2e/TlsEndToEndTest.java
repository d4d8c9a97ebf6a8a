package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.TLS_CERT;
import static org.aiphub.server.config.Settings.TLS_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.config.ConfigException;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.SelfSignedCertificate;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS (issue 6): with {@code tls_cert} and {@code tls_key} the one port speaks {@code wss://} and
 * {@code https://} only. A self-signed certificate is made at test time; a full AIP round trip runs
 * over {@code wss://} with the JDK's client trusting just that certificate; plain text and clients
 * that do not trust the certificate get nowhere; unusable paths stop start-up naming the setting.
 */
class TlsEndToEndTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir static Path certDir;
  @TempDir Path dir;

  private static SelfSignedCertificate cert;
  private static HttpClient tlsClient;

  @BeforeAll
  static void makeCertificate() {
    cert = SelfSignedCertificate.create(certDir);
    tlsClient = cert.trustingClient();
  }

  private static TestHub tlsHub() {
    return TestHub.start(
        b -> b.set(TLS_CERT, cert.certificatePem()).set(TLS_KEY, cert.privateKeyPem()));
  }

  private static URI wss(TestHub hub) {
    return URI.create(
        "wss://127.0.0.1:"
            + hub.port()
            + hub.server().config().listen().wsPath()
            + "?token="
            + TestHub.KEY);
  }

  private static URI https(TestHub hub, String path) {
    return URI.create("https://127.0.0.1:" + hub.port() + path);
  }

  private static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
    return client.send(
        HttpRequest.newBuilder(uri).timeout(WAIT).header("X-API-Key", TestHub.KEY).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aFullRoundTripRunsOverWssAndTheApiOverHttps() throws Exception {
    try (TestHub hub = tlsHub();
        WsClient device = WsClient.connect(tlsClient, wss(hub));
        WsClient owner = WsClient.connect(tlsClient, wss(hub))) {
      device.send(ClientFrames.registerDevice("dev-tls"));
      Clients.assertRegistered(device.next());
      owner.send(ClientFrames.registerConstellation("galaxy-tls"));
      Clients.assertRegistered(owner.next());

      Clients.startTask(owner, "galaxy-tls", "dev-tls", "s1", "over TLS");
      ServerMessage task = device.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.sessionId()).isEqualTo("s1");
      assertThat(task.userRequest()).isEqualTo("over TLS");
      device.send(ClientFrames.taskEnd("dev-tls", "s1", "{\"secure\":true}"));
      ServerMessage end = owner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.sessionId()).isEqualTo("s1");
      assertThat(end.result()).isEqualTo(Map.of("secure", true));

      HttpResponse<String> health = get(tlsClient, https(hub, "/api/health"));
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.headers().firstValue("content-type").orElse(""))
          .startsWith("application/json");
      HttpResponse<String> devices = get(tlsClient, https(hub, "/api/devices/dev-tls"));
      assertThat(devices.statusCode()).isEqualTo(200);
      assertThat(HubHttp.object(devices.body()).toString()).contains("dev-tls");
    }
  }

  @Test
  void plainTextAndUntrustingClientsGetNowhereAndTheHubStaysUp() throws Exception {
    try (TestHub hub = tlsHub();
        LogCapture logs = LogCapture.attach(Level.WARN, "ROOT")) {
      // ws:// to the TLS port: the upgrade never happens.
      assertThatThrownBy(
              () -> WsClient.open(hub.wsUri()).get(WAIT.toSeconds() + 5, TimeUnit.SECONDS).close())
          .isInstanceOf(ExecutionException.class);
      // http:// to it: no answer.
      HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      assertThatThrownBy(() -> get(plain, hub.http("/api/health"))).isInstanceOf(IOException.class);
      // https:// from a client that does not trust the certificate: the handshake fails.
      HttpClient untrusting = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      assertThatThrownBy(() -> get(untrusting, https(hub, "/api/health")))
          .isInstanceOf(IOException.class);

      // Nothing of it registered anything, and the TLS port still serves.
      assertThat(hub.server().registry().listClients()).isEmpty();
      assertThat(get(tlsClient, https(hub, "/api/health")).statusCode()).isEqualTo(200);
      try (WsClient device = WsClient.connect(tlsClient, wss(hub))) {
        device.send(ClientFrames.registerDevice("dev-tls"));
        Clients.assertRegistered(device.next());
      }
      // Routine refusals, not errors: no warning with a stack trace for any of them.
      assertThat(logs.events()).extracting(LogCapture::fullText).isEmpty();
    }
  }

  @Test
  void aMissingCertificateFileStopsStartUpNamingTheSetting() {
    Path missing = dir.resolve("missing-cert.pem");
    assertThatThrownBy(
            () ->
                TestHub.start(b -> b.set(TLS_CERT, missing).set(TLS_KEY, cert.privateKeyPem()))
                    .close())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_cert")
        .hasMessageContaining(missing.toString());
  }

  @Test
  void aMissingKeyFileStopsStartUpNamingTheSetting() {
    Path missing = dir.resolve("missing-key.pem");
    assertThatThrownBy(
            () ->
                TestHub.start(b -> b.set(TLS_CERT, cert.certificatePem()).set(TLS_KEY, missing))
                    .close())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_key")
        .hasMessageContaining(missing.toString());
  }

  @Test
  void filesThatAreNotPemStopStartUp() throws Exception {
    Path junkCert = Files.writeString(dir.resolve("junk-cert.pem"), "not a certificate\n");
    Path junkKey = Files.writeString(dir.resolve("junk-key.pem"), "not a key\n");
    assertThatThrownBy(
            () ->
                TestHub.start(b -> b.set(TLS_CERT, junkCert).set(TLS_KEY, cert.privateKeyPem()))
                    .close())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_cert");
    assertThatThrownBy(
            () ->
                TestHub.start(b -> b.set(TLS_CERT, cert.certificatePem()).set(TLS_KEY, junkKey))
                    .close())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_key");
    // The certificate where the key belongs (a common mix-up).
    assertThatThrownBy(
            () ->
                TestHub.start(
                        b ->
                            b.set(TLS_CERT, cert.certificatePem())
                                .set(TLS_KEY, cert.certificatePem()))
                    .close())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_key");
  }

  @Test
  void aCertificateWithoutAKeyIsRefusedByTheConfigItself() {
    assertThatThrownBy(
            () ->
                HubConfig.builder()
                    .set(API_KEY, TestHub.KEY)
                    .set(TLS_CERT, cert.certificatePem())
                    .build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_key");
    assertThatThrownBy(
            () ->
                HubConfig.builder()
                    .set(API_KEY, TestHub.KEY)
                    .set(TLS_KEY, cert.privateKeyPem())
                    .build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_cert");
  }
}
