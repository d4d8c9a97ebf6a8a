package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.REGISTRATION_TIMEOUT;
import static org.aiphub.server.e2e.AipHarness.QUIET;
import static org.aiphub.server.e2e.AipHarness.assertAlive;
import static org.aiphub.server.e2e.AipHarness.assertError;
import static org.aiphub.server.e2e.AipHarness.assertRegistrationOk;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * docs/PROTOCOL.md, "Handshake": registration of devices and constellations, and every way it
 * fails.
 */
class AipHandshakeEndToEndTest {
  private static final String DEVICE = "device_windows_001";
  private static final String CONSTELLATION = "weekly_report@device_windows_001";

  private AipHarness h;

  private AipHarness hub() {
    if (h == null) {
      h = AipHarness.start();
    }
    return h;
  }

  private AipHarness hub(UnaryOperator<HubConfig.Builder> tweak) {
    h = AipHarness.start(tweak);
    return h;
  }

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  /** The client is refused: an error frame saying {@code phrase} comes first, then close 1008. */
  private static void assertRefusedAndClosed(WsClient c, String phrase) {
    assertError(c.next(), phrase);
    assertThat(c.awaitClose()).isEqualTo(1008);
    assertThat(c.pending()).as("frames after the refusal").isZero();
  }

  // ------------------------------------------------------------------------------ success

  @Test
  void deviceRegistrationIsAnsweredFirstWithAnOkHeartbeat() {
    WsClient device = hub().connect();
    device.send(Fixtures.text("client-register-device.json"));

    JsonNode raw = AipFrames.tree(device.nextText());
    assertThat(raw.get("type").asText()).isEqualTo("heartbeat");
    assertThat(raw.get("status").asText()).isEqualTo("ok");
    assertThat(UUID.fromString(raw.get("response_id").asText())).isNotNull();
    assertThat(OffsetDateTime.parse(raw.get("timestamp").asText()).getOffset())
        .isEqualTo(ZoneOffset.UTC);
    assertThat(raw.hasNonNull("error")).isFalse();

    ClientInfo info = hub().registry().getClientInfo(DEVICE).orElseThrow();
    assertThat(info.clientType()).isEqualTo(ClientType.DEVICE);
    assertThat(info.platform()).isEqualTo("windows");
    assertThat(hub().registry().isDeviceConnected(DEVICE)).isTrue();
    assertAlive(device, DEVICE, "device");
  }

  @Test
  void deviceWithoutPlatformDefaultsToWindows() {
    hub()
        .registered(
            AipFrames.frame("register", "ok", "device", "dev-bare").json("metadata", "{}").text());
    assertThat(hub().registry().getClientInfo("dev-bare").orElseThrow().platform())
        .isEqualTo("windows");

    hub()
        .registered(
            AipFrames.frame("register", "ok", "device", "dev-linux")
                .json("metadata", "{\"platform\":\"linux\"}")
                .text());
    assertThat(hub().registry().getDevicesByPlatform("linux")).containsExactly("dev-linux");
  }

  @Test
  void constellationRegistersWithItsTargetDevice() {
    hub().registered(Fixtures.text("client-register-device.json"));
    WsClient constellation = hub().connect();
    constellation.send(Fixtures.text("client-register-constellation.json"));
    assertRegistrationOk(constellation.next());

    assertThat(hub().registry().getClientType(CONSTELLATION)).contains(ClientType.CONSTELLATION);
    assertThat(hub().registry().isDeviceConnected(CONSTELLATION)).isFalse();
    assertThat(hub().registry().getStats().constellationClients()).isEqualTo(1);
    assertAlive(constellation, CONSTELLATION, "constellation");
  }

  @Test
  void constellationRegistersWithoutTarget() {
    WsClient constellation = hub().connect();
    constellation.send(AipFrames.registerConstellation("galaxy-1", null).text());
    assertRegistrationOk(constellation.next());
    assertThat(hub().registry().getClientType("galaxy-1")).contains(ClientType.CONSTELLATION);
  }

  @Test
  void registrationReplyComesBeforeAnythingElseEvenWithAFollowingHeartbeat() {
    // The reference clients block on the first reply: send register and heartbeat back to back.
    WsClient device = hub().connect();
    device.send(Fixtures.text("client-register-device.json"));
    device.send(Fixtures.text("client-heartbeat.json"));
    ServerMessage first = device.next();
    ServerMessage second = device.next();
    assertRegistrationOk(first);
    assertRegistrationOk(second);
    assertThat(first.responseId()).isNotEqualTo(second.responseId());
  }

  // ------------------------------------------------------------------------------ refusals

  @Test
  void constellationWhoseTargetIsNotConnectedIsRefused() {
    WsClient constellation = hub().connect();
    constellation.send(Fixtures.text("client-register-constellation.json"));
    assertRefusedAndClosed(constellation, "target device 'device_windows_001' is not connected");
    assertThat(hub().registry().isOnline(CONSTELLATION)).isFalse();
    assertThat(hub().registry().getStats().total()).isZero();
  }

  @Test
  void constellationWhoseTargetIsAConstellationIsRefused() {
    WsClient first = hub().constellation("galaxy-a", null);
    WsClient second = hub().connect();
    second.send(AipFrames.registerConstellation("galaxy-b", "galaxy-a").text());
    assertRefusedAndClosed(second, "target device 'galaxy-a' is not connected");

    assertThat(hub().registry().isOnline("galaxy-b")).isFalse();
    assertThat(hub().registry().getClientType("galaxy-a")).contains(ClientType.CONSTELLATION);
    first.expectNothing(QUIET);
    assertAlive(first, "galaxy-a", "constellation");
  }

  @Test
  void firstFrameThatIsNotARegisterFailsTheRegistration() {
    WsClient c = hub().connect();
    c.send(Fixtures.text("client-heartbeat.json"));
    assertRefusedAndClosed(c, "the first message must be a register message, got 'heartbeat'");
    assertThat(hub().registry().isOnline(DEVICE)).isFalse();
  }

  @Test
  void firstFrameThatIsATaskFailsTheRegistration() {
    hub().registered(Fixtures.text("client-register-device.json"));
    WsClient c = hub().connect();
    c.send(Fixtures.text("client-task-constellation.json"));
    assertRefusedAndClosed(c, "got 'task'");
    assertThat(hub().registry().isOnline(CONSTELLATION)).isFalse();
    assertThat(hub().sessions().get("weekly_report@task_3")).isEmpty();
  }

  static Stream<Arguments> badClientIds() {
    return Stream.of(
        Arguments.of("empty", AipFrames.registerDevice("").text(), "must be a non-empty string"),
        Arguments.of(
            "null", AipFrames.registerDevice(null).text(), "client_id must be a non-empty string"),
        Arguments.of(
            "missing",
            AipFrames.registerDevice("x").without("client_id").text(),
            "client_id must be a non-empty string"),
        Arguments.of(
            "space",
            AipFrames.registerDevice("my device").text(),
            "holds a character outside letters, digits"),
        Arguments.of(
            "newline",
            AipFrames.registerDevice("dev\nfake log line").text(),
            "holds a character outside letters, digits"),
        Arguments.of(
            "quote",
            AipFrames.registerDevice("dev\"1").text(),
            "holds a character outside letters, digits"),
        Arguments.of(
            "constellation with space",
            AipFrames.registerConstellation("galaxy one", null).text(),
            "holds a character outside letters, digits"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badClientIds")
  void registrationWithABadClientIdIsRefused(String why, String frame, String phrase) {
    WsClient c = hub().connect();
    c.send(frame);
    assertRefusedAndClosed(c, phrase);
    assertThat(hub().registry().getStats().total()).isZero();
  }

  static Stream<Arguments> badMetadata() {
    return Stream.of(
        Arguments.of("{\"platform\":7}", "metadata.platform must be a string"),
        Arguments.of("{\"platform\":[\"windows\"]}", "metadata.platform must be a string"),
        Arguments.of("{\"system_info\":\"fast\"}", "metadata.system_info must be an object"),
        Arguments.of("{\"system_info\":[1,2]}", "metadata.system_info must be an object"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badMetadata")
  void deviceMetadataOfTheWrongTypeIsRefused(String metadata, String phrase) {
    WsClient c = hub().connect();
    c.send(
        AipFrames.frame("register", "ok", "device", "dev-meta").json("metadata", metadata).text());
    assertRefusedAndClosed(c, phrase);
    assertThat(hub().registry().isOnline("dev-meta")).isFalse();
  }

  @Test
  void duplicateClientIdIsRefusedAndTheLiveEntryStays() {
    WsClient first = hub().registered(Fixtures.text("client-register-device.json"));
    ClientInfo before = hub().registry().getClientInfo(DEVICE).orElseThrow();

    WsClient second = hub().connect();
    second.send(Fixtures.text("client-register-device.json"));
    // the exact text of server-error.json
    String expected = AipFrames.tree(Fixtures.text("server-error.json")).get("error").asText();
    assertRefusedAndClosed(second, expected);

    assertThat(hub().registry().getClientInfo(DEVICE).orElseThrow().connection())
        .isSameAs(before.connection());
    assertAlive(first, DEVICE, "device");
  }

  @Test
  void silentClientIsClosedAfterTheRegistrationTimeout() {
    hub(b -> b.set(REGISTRATION_TIMEOUT, Duration.ofMillis(600)));
    WsClient c = hub().connect();
    assertThat(c.awaitClose()).isEqualTo(1008);
    assertThat(c.pending()).isZero();
    assertThat(hub().registry().getStats().total()).isZero();
  }

  // ------------------------------------------------------------------------- device config

  @Test
  void deviceSystemInfoIsMergedWithTheDeviceConfig(@TempDir Path dir) {
    Path config = Fixtures.copy("device_config.yaml", dir);
    hub(b -> b.set(DEVICE_CONFIG, config));
    hub().registered(Fixtures.text("client-register-device.json"));
    WsClient constellation = hub().registered(Fixtures.text("client-register-constellation.json"));

    constellation.send(Fixtures.text("client-device-info-request.json"));
    JsonNode reply = AipFrames.tree(constellation.nextText());
    JsonNode golden = AipFrames.tree(Fixtures.text("server-device-info-response.json"));

    assertThat(reply.get("type").asText()).isEqualTo("device_info_response");
    assertThat(reply.get("status").asText()).isEqualTo("ok");
    assertThat(reply.get("response_id").asText()).isEqualTo("info-0001");
    assertThat(reply.hasNonNull("error")).isFalse();

    JsonNode result = reply.get("result");
    JsonNode want = golden.get("result");
    assertThat(features(result)).isEqualTo(features(want));
    assertThat(withoutFeatures(result)).isEqualTo(withoutFeatures(want));

    // the same merge is what the registry serves
    JsonNode cached = AipFrames.treeOf(hub().registry().getDeviceSystemInfo(DEVICE).orElseThrow());
    assertThat(withoutFeatures(cached)).isEqualTo(withoutFeatures(want));
    assertThat(hub().registry().getClientInfo(DEVICE).orElseThrow().maxConcurrentTasks())
        .isEqualTo(5);
  }

  static Set<String> features(JsonNode systemInfo) {
    Set<String> out = new HashSet<>();
    systemInfo.get("supported_features").forEach(n -> out.add(n.asText()));
    return out;
  }

  static JsonNode withoutFeatures(JsonNode systemInfo) {
    ObjectNode copy = systemInfo.deepCopy();
    copy.remove("supported_features");
    return copy;
  }
}
