package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.BAD_FRAMES_PER_MINUTE;
import static org.aiphub.server.e2e.AipHarness.QUIET;
import static org.aiphub.server.e2e.AipHarness.assertAlive;
import static org.aiphub.server.e2e.AipHarness.assertError;
import static org.aiphub.server.e2e.AipHarness.assertRegistrationOk;
import static org.aiphub.server.e2e.AipHarness.assertTaskRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * docs/PROTOCOL.md, "Identity pinning" (frames after registration are checked against the bound
 * identity) and "Bad frames" (the frames that do not decode, before and after registration, with
 * the bad-frame budget).
 */
class IdentityAndErrorsEndToEndTest {
  private static final String DEVICE = "device_windows_001";
  private static final String CONSTELLATION = "weekly_report@device_windows_001";
  private static final String SESSION = "weekly_report@task_3";

  private AipHarness h;

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  private AipHarness hub() {
    if (h == null) {
      h = AipHarness.start();
    }
    return h;
  }

  /** Fixture device + constellation with the fixture task running: {device, constellation}. */
  private WsClient[] fixtureTaskRunning() {
    WsClient device = hub().registered(Fixtures.text("client-register-device.json"));
    WsClient constellation = hub().registered(Fixtures.text("client-register-constellation.json"));
    constellation.send(Fixtures.text("client-task-constellation.json"));
    assertThat(constellation.next().sessionId()).isEqualTo(SESSION);
    assertThat(device.next().sessionId()).isEqualTo(SESSION);
    return new WsClient[] {device, constellation};
  }

  private void assertFixtureSessionRunning() {
    assertThat(hub().sessions().running(SESSION)).isPresent();
    assertThat(hub().registry().getDeviceSessions(DEVICE)).containsExactly(SESSION);
    assertThat(hub().registry().getConstellationSessions(CONSTELLATION)).containsExactly(SESSION);
  }

  /** The fixture session still ends normally: proof that nothing was lost. */
  private void assertFixtureSessionCompletes(WsClient device, WsClient constellation) {
    device.send(Fixtures.text("client-task-end-device.json"));
    ServerMessage end = constellation.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.sessionId()).isEqualTo(SESSION);
  }

  // --------------------------------------------------------------------- identity pinning

  @Test
  void deviceFrameWithAnotherClientIdIsRefused() {
    WsClient[] pair = fixtureTaskRunning();
    WsClient other = hub().device("dev-other");
    // the fixture device claims to be dev-other while ending its session
    pair[0].send(
        AipFrames.taskEnd("dev-other", SESSION, "completed").json("result", "{\"x\":1}").text());
    assertError(
        pair[0].next(),
        "client_id 'dev-other' does not match the registered id 'device_windows_001'");
    pair[1].expectNothing(QUIET);
    assertThat(other.pending()).isZero();
    assertFixtureSessionRunning();
    assertFixtureSessionCompletes(pair[0], pair[1]);
  }

  @Test
  void heartbeatWithAnotherClientIdIsRefused() {
    WsClient device = hub().device("dev-1");
    device.send(AipFrames.heartbeat("dev-2", "device").text());
    assertError(device.next(), "client_id 'dev-2' does not match the registered id 'dev-1'");
    assertAlive(device, "dev-1", "device");
    assertThat(hub().registry().isOnline("dev-2")).isFalse();
  }

  @Test
  void constellationHeartbeatWithAnotherClientIdIsRefused() {
    WsClient[] pair = fixtureTaskRunning();
    pair[1].send(AipFrames.heartbeat(DEVICE, "device").text());
    assertError(pair[1].next(), "client_id 'device_windows_001' does not match");
    pair[0].expectNothing(QUIET);
    assertFixtureSessionRunning();
  }

  @Test
  void deviceFrameWithAnotherClientTypeIsRefused() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(
        AipFrames.taskEnd(DEVICE, SESSION, "completed").set("client_type", "constellation").text());
    assertError(
        pair[0].next(), "client_type 'constellation' does not match the registered type 'device'");
    pair[1].expectNothing(QUIET);
    assertFixtureSessionRunning();
    assertThat(hub().registry().getClientType(DEVICE)).contains(ClientType.DEVICE);
  }

  @Test
  void deviceCannotActAsAConstellationToStartTasks() {
    WsClient device = hub().device("dev-1");
    WsClient target = hub().device("dev-2");
    device.send(
        AipFrames.task("dev-1", "dev-2", "s-1", "hijack")
            .set("client_type", "constellation")
            .text());
    assertError(device.next(), "client_type 'constellation' does not match");
    target.expectNothing(QUIET);
    assertThat(hub().sessions().get("s-1")).isEmpty();
    assertThat(hub().registry().getStats().runningSessions()).isZero();
  }

  @Test
  void constellationFrameWithAnotherClientTypeIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");
    // a task that says device (explicitly, and by the default when client_type is absent)
    constellation.send(
        AipFrames.task("galaxy-1", "dev-1", "s-1", "hello").set("client_type", "device").text());
    assertTaskRefused(
        constellation, "s-1", "client_type 'device' does not match the registered type");
    constellation.send(
        AipFrames.task("galaxy-1", "dev-1", "s-2", "hello").without("client_type").text());
    assertTaskRefused(constellation, "s-2", "client_type 'device' does not match");
    device.expectNothing(QUIET);
    assertThat(hub().sessions().counts().running()).isZero();
    assertThat(hub().registry().getConstellationSessions("galaxy-1")).isEmpty();
  }

  @Test
  void constellationImpersonatingAnotherConstellationIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient victim = hub().constellation("galaxy-victim", null);
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.task("galaxy-victim", "dev-1", "s-1", "hello").text());
    assertTaskRefused(constellation, "s-1", "client_id 'galaxy-victim' does not match");
    device.expectNothing(QUIET);
    assertThat(victim.pending()).isZero();
    assertThat(hub().registry().getConstellationSessions("galaxy-victim")).isEmpty();
    assertThat(hub().sessions().get("s-1")).isEmpty();
  }

  @Test
  void absentOrNullClientIdIsNotAMismatch() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");

    // a task with client_id null
    constellation.send(AipFrames.task(null, "dev-1", "s-1", "null id").text());
    assertThat(constellation.next().sessionId()).isEqualTo("s-1");
    assertThat(device.next().sessionId()).isEqualTo("s-1");
    // a task without the field
    constellation.send(AipFrames.task("x", "dev-1", "s-2", "no id").without("client_id").text());
    assertThat(constellation.next().sessionId()).isEqualTo("s-2");
    assertThat(device.next().sessionId()).isEqualTo("s-2");
    // the handlers used the bound identity
    assertThat(hub().sessions().running("s-1").orElseThrow().ownerId()).isEqualTo("galaxy-1");
    assertThat(hub().sessions().running("s-2").orElseThrow().ownerId()).isEqualTo("galaxy-1");

    // task_end from the device with null and with absent client_id
    device.send(AipFrames.taskEnd(null, "s-1", "completed").text());
    assertThat(constellation.next().sessionId()).isEqualTo("s-1");
    device.send(AipFrames.taskEnd("x", "s-2", "completed").without("client_id").text());
    assertThat(constellation.next().sessionId()).isEqualTo("s-2");
    assertThat(hub().registry().getDeviceSessions("dev-1")).isEmpty();

    // heartbeat without client_id
    device.send(AipFrames.heartbeat("x", "device").without("client_id").text());
    assertRegistrationOk(device.next());
  }

  @Test
  void secondRegisterIsRefusedAndTheFirstRegistrationStays() {
    WsClient[] pair = fixtureTaskRunning();
    ClientInfo before = hub().registry().getClientInfo(DEVICE).orElseThrow();

    pair[0].send(Fixtures.text("client-register-device.json"));
    assertError(pair[0].next(), "already registered as 'device_windows_001'");

    ClientInfo after = hub().registry().getClientInfo(DEVICE).orElseThrow();
    assertThat(after.connection()).isSameAs(before.connection());
    assertThat(after.connectedAt()).isEqualTo(before.connectedAt());
    assertFixtureSessionRunning();
    pair[1].expectNothing(QUIET);
    assertFixtureSessionCompletes(pair[0], pair[1]);
  }

  @Test
  void secondRegisterUnderAnotherIdentityIsRefusedAndRegistersNothing() {
    WsClient[] pair = fixtureTaskRunning();
    // the constellation tries to re-register as a fresh device
    pair[1].send(AipFrames.registerDevice("dev-new").text());
    assertError(pair[1].next(), "does not match");
    // as itself, but as a device
    pair[1].send(AipFrames.registerDevice(CONSTELLATION).text());
    assertError(pair[1].next(), "client_type 'device' does not match");
    // and as itself, unchanged
    pair[1].send(Fixtures.text("client-register-constellation.json"));
    assertError(pair[1].next(), "already registered as 'weekly_report@device_windows_001'");

    assertThat(hub().registry().isOnline("dev-new")).isFalse();
    assertThat(hub().registry().getClientType(CONSTELLATION)).contains(ClientType.CONSTELLATION);
    assertThat(hub().registry().getStats().total()).isEqualTo(2);
    assertFixtureSessionRunning();
    assertAlive(pair[1], CONSTELLATION, "constellation");
  }

  // ------------------------------------------------------------------------ undecodable frames

  static Stream<Arguments> badTextFrames() {
    return Stream.of(
        Arguments.of("not json", "hello hub", "malformed JSON"),
        Arguments.of("truncated", "{\"type\":\"heartbeat\",\"status\":", "malformed JSON"),
        Arguments.of("array", "[1,2,3]", "frame must be a JSON object, got an array"),
        Arguments.of("string", "\"heartbeat\"", "frame must be a JSON object, got a string"),
        Arguments.of(
            "wrong field type",
            AipFrames.heartbeat(DEVICE, "device").json("client_id", "42").text(),
            "field 'client_id' must be a string or null, got a number"),
        Arguments.of(
            "wrong metadata type",
            AipFrames.heartbeat(DEVICE, "device").json("metadata", "[1]").text(),
            "field 'metadata' must be an object or null, got an array"),
        Arguments.of(
            "unknown status",
            AipFrames.heartbeat(DEVICE, "device").set("status", "sleepy").text(),
            "field 'status' has unknown value 'sleepy'"),
        Arguments.of(
            "unknown client_type",
            AipFrames.heartbeat(DEVICE, "device").set("client_type", "robot").text(),
            "field 'client_type' has unknown value 'robot'"),
        Arguments.of(
            "unknown result status",
            AipFrames.taskEnd(DEVICE, SESSION, "completed")
                .json("action_results", "[{\"status\":\"meh\"}]")
                .text(),
            "field 'action_results[0].status' has unknown value 'meh'"),
        Arguments.of(
            "missing status",
            AipFrames.heartbeat(DEVICE, "device").without("status").text(),
            "missing required field 'status'"),
        Arguments.of(
            "nested too deep",
            AipFrames.heartbeat(DEVICE, "device")
                .json("metadata", "{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}")
                .text(),
            "JSON nested deeper than 64 levels"),
        Arguments.of(
            "trailing data",
            AipFrames.heartbeat(DEVICE, "device").text() + " {}",
            "unexpected data after the JSON object"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badTextFrames")
  void undecodableFrameGetsAnErrorAndTheConnectionStaysOpen(
      String why, String frame, String phrase) {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(frame);
    assertError(pair[0].next(), phrase);
    assertAlive(pair[0], DEVICE, "device");
    pair[1].expectNothing(QUIET);
    // one bad frame must not cost the device its running session
    assertFixtureSessionRunning();
    assertFixtureSessionCompletes(pair[0], pair[1]);
  }

  @Test
  void unknownFieldsAreIgnored() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(
        AipFrames.heartbeat(DEVICE, "device")
            .json("future_field", "{\"nested\":[1,{\"x\":null}],\"type\":\"task\"}")
            .json("another", "42")
            .text());
    assertRegistrationOk(pair[0].next());
    pair[0].send(
        AipFrames.taskEnd(DEVICE, SESSION, "completed")
            .json("result", "{\"total\":1}")
            .json("extra", "[\"ignored\"]")
            .text());
    ServerMessage end = pair[1].next();
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(AipFrames.treeOf(end.result())).isEqualTo(AipFrames.tree("{\"total\":1}"));
  }

  @Test
  void binaryGarbageGetsAnErrorAndTheConnectionStaysOpen() {
    WsClient device = hub().device("dev-1");
    device.sendBinary(new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, 0x41, (byte) 0xc3});
    assertError(device.next(), "not valid UTF-8");
    device.sendBinary("\u00ff\u00fe garbage".getBytes(StandardCharsets.UTF_8));
    assertError(device.next(), "malformed JSON");
    assertAlive(device, "dev-1", "device");
  }

  @Test
  void binaryFrameWithAValidHeartbeatIsAnsweredInText() {
    WsClient device = hub().registered(Fixtures.text("client-register-device.json"));
    device.sendBinary(Fixtures.text("client-heartbeat.json").getBytes(StandardCharsets.UTF_8));
    String raw = device.nextText();
    assertThat(raw).as("answered in a text frame").isNotEqualTo("<binary frame>");
    assertRegistrationOk(decode(raw));
  }

  @Test
  void binaryRegisterIsAcceptedToo() {
    WsClient device = hub().connect();
    device.sendBinary(
        Fixtures.text("client-register-device.json").getBytes(StandardCharsets.UTF_8));
    String raw = device.nextText();
    assertThat(raw).isNotEqualTo("<binary frame>");
    assertRegistrationOk(decode(raw));
    assertThat(hub().registry().isDeviceConnected(DEVICE)).isTrue();
  }

  @Test
  void tooManyBadFramesCloseTheConnection() {
    h = AipHarness.start(b -> b.set(BAD_FRAMES_PER_MINUTE, 3));
    WsClient[] pair = fixtureTaskRunning();
    WsClient device = pair[0];
    for (int i = 0; i < 3; i++) {
      device.send("not json " + i);
      assertError(device.next(), "malformed JSON");
    }
    // still within budget: open, session alive
    assertAlive(device, DEVICE, "device");
    assertFixtureSessionRunning();

    device.send("not json 4");
    assertError(device.next(), "malformed JSON");
    assertThat(device.awaitClose()).isEqualTo(1008);
    assertThat(device.closeReason()).contains("too many bad frames");
    // the device is gone: its session failed for the owner
    ServerMessage end = pair[1].next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.error()).isEqualTo("device_disconnected");
    await().untilAsserted(() -> assertThat(hub().registry().isOnline(DEVICE)).isFalse());
  }

  @Test
  void refusedFramesDoNotCountAgainstTheBadFrameBudget() {
    h = AipHarness.start(b -> b.set(BAD_FRAMES_PER_MINUTE, 1));
    WsClient device = hub().registered(Fixtures.text("client-register-device.json"));
    for (int i = 0; i < 3; i++) {
      device.send(Fixtures.text("client-command-results.json"));
      assertError(device.next(), "unsupported message type");
      device.send(AipFrames.heartbeat("dev-other", "device").text());
      assertError(device.next(), "does not match");
    }
    assertAlive(device, DEVICE, "device");
    // one bad frame is within the budget of 1, the second is not
    device.send("{");
    assertError(device.next(), "malformed JSON");
    assertAlive(device, DEVICE, "device");
    device.send("{");
    assertError(device.next(), "malformed JSON");
    assertThat(device.awaitClose()).isEqualTo(1008);
  }

  static Stream<Arguments> badFirstFrames() {
    return Stream.of(
        Arguments.of("not json", "hello hub", "malformed JSON"),
        Arguments.of("array", "[]", "frame must be a JSON object"),
        Arguments.of(
            "unknown type",
            AipFrames.frame("hello", "ok", "device", "dev-1").text(),
            "field 'type' has unknown value 'hello'"),
        Arguments.of(
            "unknown client_type",
            AipFrames.registerDevice("dev-1").set("client_type", "robot").text(),
            "field 'client_type' has unknown value 'robot'"),
        Arguments.of(
            "wrong metadata type",
            AipFrames.registerDevice("dev-1").json("metadata", "\"x\"").text(),
            "field 'metadata' must be an object"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badFirstFrames")
  void badFirstFrameFailsTheRegistration(String why, String frame, String phrase) {
    WsClient c = hub().connect();
    c.send(frame);
    ServerMessage err = assertError(c.next(), phrase);
    assertThat(err.error()).startsWith("registration failed");
    assertThat(c.awaitClose()).isEqualTo(1008);
    assertThat(hub().registry().getStats().total()).isZero();
  }

  @Test
  void binaryGarbageFirstFrameFailsTheRegistration() {
    WsClient c = hub().connect();
    c.sendBinary(new byte[] {(byte) 0xc0, (byte) 0x80, 0x7b});
    assertError(c.next(), "not valid UTF-8");
    assertThat(c.awaitClose()).isEqualTo(1008);
    assertThat(hub().registry().getStats().total()).isZero();
  }

  private static ServerMessage decode(String raw) {
    try {
      return new AipCodec().decodeServer(raw);
    } catch (AipDecodeException e) {
      throw new AssertionError(raw, e);
    }
  }
}
