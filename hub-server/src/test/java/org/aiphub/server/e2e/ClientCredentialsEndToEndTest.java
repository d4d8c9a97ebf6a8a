package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.HubHttp.Reply;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Per-client credentials (issue 6): a device config entry with {@code token_sha256} makes
 * registering with that {@code client_id} require {@code metadata.auth_token} whose SHA-256
 * matches, on top of the shared key, so one device cannot impersonate another. Ids without a
 * configured token still register with the shared key alone. The token and its hash show up
 * nowhere: not in device info, not in the HTTP API, not in the logs.
 */
class ClientCredentialsEndToEndTest {
  private static final String TOKEN = "s3cret-token";
  private static final String HASH = sha256Hex(TOKEN);
  private static final String WRONG = "wrong-token-guess";
  private static final String X = "dev_x";
  private static final String Y = "dev_y";
  private static final String OWNER = "galaxy-1";

  @TempDir Path dir;

  private TestHub hub;
  private HubHttp http;
  private LogCapture logs;
  private final List<WsClient> sockets = new ArrayList<>();
  private final List<String> framesSeen = new ArrayList<>();

  private static String sha256Hex(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @BeforeEach
  void start() throws Exception {
    Path config = dir.resolve("devices.yaml");
    Files.writeString(
        config,
        "devices:\n"
            + "  "
            + X
            + ":\n"
            + "    tier: gold\n"
            + "    tags: [office]\n"
            + "    token_sha256: \""
            + HASH
            + "\"\n"
            + "  "
            + Y
            + ":\n"
            + "    tier: silver\n");
    logs = LogCapture.attach(Level.DEBUG, "ROOT");
    hub = TestHub.start(b -> b.set(DEVICE_CONFIG, config));
    http = new HubHttp(hub);
  }

  @AfterEach
  void stop() {
    for (WsClient c : sockets) {
      c.close();
    }
    if (hub != null) {
      hub.close();
    }
    if (logs != null) {
      logs.close();
    }
  }

  private WsClient connect() {
    WsClient c = hub.connect();
    sockets.add(c);
    return c;
  }

  /** A device's register frame; {@code token} goes into metadata.auth_token when not ABSENT. */
  private static String registerDevice(String id, Object token) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("platform", "linux");
    if (token != ABSENT) {
      metadata.put("auth_token", token);
    }
    metadata.put("system_info", Map.of("device_id", id, "platform", "linux"));
    Map<String, Object> frame = new LinkedHashMap<>();
    frame.put("type", "register");
    frame.put("status", "ok");
    frame.put("client_type", "device");
    frame.put("client_id", id);
    frame.put("metadata", metadata);
    return HubHttp.write(frame);
  }

  private static final Object ABSENT = new Object();

  private ServerMessage next(WsClient c) {
    String text = c.nextText();
    framesSeen.add(text);
    try {
      return new org.aiphub.core.aip.AipCodec().decodeServer(text);
    } catch (org.aiphub.core.aip.AipDecodeException e) {
      throw new AssertionError("hub sent an invalid frame: " + text, e);
    }
  }

  /** Registers and expects the refusal: an error frame naming the credential, then 1008. */
  private void assertRefused(String frame, String id) {
    WsClient c = connect();
    c.send(frame);
    ServerMessage error = next(c);
    assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(error.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(error.error()).contains(id).contains("auth_token");
    assertNoSecret(error.error(), "the refusal");
    assertThat(c.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
    assertThat(hub.server().registry().isOnline(id)).as("%s registered", id).isFalse();
  }

  static Stream<Arguments> badCredentials() {
    return Stream.of(
        Arguments.of("no auth_token", ABSENT),
        Arguments.of("a wrong token", WRONG),
        Arguments.of("the hash instead of the token", HASH),
        Arguments.of("the token in another case", TOKEN.toUpperCase(java.util.Locale.ROOT)),
        Arguments.of("an empty token", ""),
        Arguments.of("a number", 42),
        Arguments.of("null", null),
        Arguments.of("the token inside a list", List.of(TOKEN)),
        Arguments.of("the token inside an object", Map.of("token", TOKEN)),
        Arguments.of("a boolean", true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badCredentials")
  void aDeviceWithATokenIsRefusedWithoutTheRightOne(String what, Object token) {
    assertRefused(registerDevice(X, token), X);

    ClientRegistry registry = hub.server().registry();
    assertThat(registry.listClients()).isEmpty();
    Clients.assertCountersMatchContents(registry);
    assertNoSecretsInLogs();
  }

  @Test
  void theRightTokenRegistersAndTheDeviceWorksAndNothingLeaks() {
    ClientRegistry registry = hub.server().registry();
    // A constellation claiming the id without the token is refused as well.
    assertRefused(ClientFrames.registerConstellation(X), X);

    WsClient x = connect();
    x.send(registerDevice(X, TOKEN));
    Clients.assertRegistered(next(x));
    // Another device, without a configured token, needs only the shared key.
    WsClient y = connect();
    y.send(ClientFrames.registerDevice(Y));
    Clients.assertRegistered(next(y));
    WsClient owner = connect();
    owner.send(ClientFrames.registerConstellation(OWNER));
    Clients.assertRegistered(next(owner));
    assertThat(registry.listClients()).containsExactlyInAnyOrder(X, Y, OWNER);

    // The token was used and dropped: not in the stored metadata.
    ClientInfo info = registry.getClientInfo(X).orElseThrow();
    assertThat(info.metadata()).doesNotContainKey("auth_token").containsEntry("platform", "linux");

    // Traffic flows to X like to any device.
    owner.send(ClientFrames.task(OWNER, X, "s1", "go"));
    assertThat(next(owner).sessionId()).isEqualTo("s1");
    ServerMessage task = next(x);
    assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
    x.send(ClientFrames.taskEnd(X, "s1", "{\"ok\":true}"));
    ServerMessage end = next(owner);
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);

    // Device info for constellations: the config entry is merged in, the hash is not.
    owner.send(
        "{\"type\":\"device_info_request\",\"status\":\"ok\",\"client_type\":\"constellation\","
            + "\"client_id\":\""
            + OWNER
            + "\",\"target_id\":\""
            + X
            + "\",\"request_id\":\"r1\"}");
    ServerMessage deviceInfo = next(owner);
    assertThat(deviceInfo.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
    assertThat(deviceInfo.status()).isEqualTo(TaskStatus.OK);
    @SuppressWarnings("unchecked")
    Map<String, Object> custom =
        (Map<String, Object>) ((Map<String, Object>) deviceInfo.result()).get("custom_metadata");
    assertThat(custom).containsEntry("tier", "gold").doesNotContainKey("token_sha256");

    // The HTTP API, before and after a reload of the device config.
    Map<String, Object> one = http.get("/api/devices/" + X).ok(200);
    assertThat(HubHttp.write(one)).contains("gold");
    http.get("/api/devices").ok(200);
    http.get("/api/clients").ok(200);
    http.get("/api/stats").ok(200);
    http.post("/api/admin/reload-devices", "{}").ok(200);
    http.get("/api/devices/" + X).ok(200);
    for (Reply r : http.seen()) {
      assertNoSecret(r.toString(), "HTTP " + r.method() + " " + r.path());
    }
    for (String f : framesSeen) {
      assertNoSecret(f, "frame");
    }
    assertNoSecretsInLogs();
  }

  @Test
  void aDeviceWithoutAConfiguredTokenThatSendsOneAnywayRegistersAndTheTokenIsDropped() {
    WsClient y = connect();
    y.send(registerDevice(Y, TOKEN));
    Clients.assertRegistered(next(y));
    ClientInfo info = hub.server().registry().getClientInfo(Y).orElseThrow();
    assertThat(info.metadata()).doesNotContainKey("auth_token");
    assertNoSecret(HubHttp.write(http.get("/api/devices/" + Y).ok(200)), "GET /api/devices/" + Y);
    assertNoSecret(HubHttp.write(http.get("/api/clients").ok(200)), "GET /api/clients");
    assertNoSecretsInLogs();
  }

  @Test
  void aWrongTokenForAnOnlineIdIsRefusedAsACredentialFailureAndTheHolderStays() {
    WsClient x = connect();
    x.send(registerDevice(X, TOKEN));
    Clients.assertRegistered(next(x));
    ClientRegistry registry = hub.server().registry();
    ClientConnection holder = registry.getClient(X).orElseThrow();

    WsClient again = connect();
    again.send(registerDevice(X, WRONG));
    ServerMessage error = next(again);
    assertThat(error.error())
        .as("credentials are checked before the duplicate")
        .contains("auth_token")
        .doesNotContain("already registered");
    assertThat(again.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
    assertThat(registry.getClient(X)).containsSame(holder);
    x.send(ClientFrames.heartbeat(X));
    assertThat(next(x).type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(x.isClosed()).isFalse();
    assertNoSecretsInLogs();
  }

  private static void assertNoSecret(String text, String where) {
    assertThat(text)
        .as("%s must not show the token or its hash", where)
        .doesNotContain(TOKEN)
        .doesNotContain(HASH)
        .doesNotContain(WRONG)
        .doesNotContain("auth_token\":")
        .doesNotContain("token_sha256");
  }

  private void assertNoSecretsInLogs() {
    List<ILoggingEvent> events = logs.events();
    assertThat(events).as("the hub logged something").isNotEmpty();
    for (ILoggingEvent e : events) {
      String line =
          LogCapture.fullText(e) + " " + java.util.Arrays.deepToString(e.getArgumentArray());
      assertThat(line)
          .as("log line %s", e.getFormattedMessage())
          .doesNotContain(TOKEN)
          .doesNotContain(HASH)
          .doesNotContain(WRONG);
    }
  }
}
