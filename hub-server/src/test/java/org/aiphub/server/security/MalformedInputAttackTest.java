package org.aiphub.server.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.aiphub.server.config.Settings.BAD_FRAMES_PER_MINUTE;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 9: malformed input. Frames before {@code register} and undecodable first frames fail the
 * registration (error, 1008); a second {@code register} is refused and changes nothing; after
 * registration, binary garbage, invalid UTF-8 in a binary frame, JSON that is not an object, deep
 * nesting, wrong JSON types for every field and unknown enum values each get an error frame that
 * says what was wrong, and the connection stays open (invalid UTF-8 in a text frame is a protocol
 * error: 1007). Huge strings and arrays inside the frame limit are handled like any other frame. A
 * client over its bad-frame budget is closed with 1008.
 */
class MalformedInputAttackTest {
  private static final String MALLORY_DEV = "mallory-dev";
  private static final int LIMIT = 1024 * 1024;

  @Test
  void anythingButARegisterAsTheFirstFrameFailsTheRegistration() {
    try (Arena a = Arena.start()) {
      Map<String, String> firstFrames = new LinkedHashMap<>();
      firstFrames.put(Frames.heartbeat(Arena.DEVICE), "the first message must be a register");
      firstFrames.put(
          Frames.task(Arena.OWNER, Arena.DEVICE, "sneaky", "no register needed?"),
          "the first message must be a register message, got 'task'");
      firstFrames.put(
          Frames.taskEnd(Arena.DEVICE, Arena.SESSION, "completed", "forged"), "got 'task_end'");
      firstFrames.put(
          Frames.infoRequest("constellation", Arena.OWNER, Arena.DEVICE, "r"), "got 'device_info");
      firstFrames.put("[]", "registration failed: frame must be a JSON object");
      firstFrames.put("{\"type\":", "registration failed: malformed JSON");
      firstFrames.put("{}", "registration failed: missing required field 'type'");
      firstFrames.put(
          "{\"type\":\"REGISTER\",\"status\":\"ok\",\"client_id\":\"x\"}",
          "registration failed: field 'type' has unknown value");
      for (Map.Entry<String, String> e : firstFrames.entrySet()) {
        WsClient c = a.connect();
        c.send(e.getKey());
        Arena.assertError(c.next(), e.getValue());
        assertThat(c.awaitClose()).as(e.getKey()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      }
      WsClient binary = a.connect();
      binary.sendBinary(garbage(512, 1));
      Arena.assertError(binary.next(), "registration failed");
      assertThat(binary.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);

      assertThat(a.sessions().get("sneaky")).isEmpty();
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aSecondRegisterIsRefusedAndTheFirstRegistrationStays() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.device(MALLORY_DEV);
      ClientInfo first = a.registry().getClientInfo(MALLORY_DEV).orElseThrow();
      mallory.send(JsonFrames.registerDevice(MALLORY_DEV, "windows", List.of("admin")));
      Arena.assertError(
          mallory.next(), "already registered as 'mallory-dev'; a second register is refused");
      mallory.send(JsonFrames.registerConstellation(MALLORY_DEV));
      Arena.assertError(mallory.next(), "client_type 'constellation' does not match");
      mallory.send(JsonFrames.registerDevice(Arena.DEVICE, "linux", List.of()));
      Arena.assertError(mallory.next(), "client_id 'innocent-dev' does not match");
      Map<String, Object> other = Frames.of("register", "ok", "device", null);
      mallory.send(Frames.json(other));
      Arena.assertError(mallory.next(), "a second register is refused");

      assertThat(a.registry().getClientInfo(MALLORY_DEV)).contains(first);
      Arena.assertOnlyAnswer(mallory, MALLORY_DEV);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void undecodableFramesAfterRegistrationGetAnErrorAndTheConnectionStays() {
    try (Arena a = Arena.start(b -> b.set(BAD_FRAMES_PER_MINUTE, 10_000))) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      String deep = "[".repeat(10_000) + "]".repeat(10_000);
      Map<byte[], String> frames = new LinkedHashMap<>();
      frames.put(binary(garbage(4096, 7)), "");
      frames.put(
          binary(
              concat(
                  "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_id\":\"".getBytes(UTF_8),
                  new byte[] {(byte) 0xC3, (byte) 0x28, (byte) 0xFF},
                  "\"}".getBytes(UTF_8))),
          "frame is not valid UTF-8");
      frames.put(binary(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}), "not valid UTF-8");
      for (String notAnObject : List.of("[]", "\"register\"", "42", "null", "true", "[{}]")) {
        frames.put(RawSocket.text(notAnObject), "frame must be a JSON object");
      }
      frames.put(RawSocket.text(""), "empty frame");
      frames.put(RawSocket.text("   "), "empty frame");
      frames.put(RawSocket.text("{\"type\":\"heartbeat\""), "malformed JSON");
      frames.put(RawSocket.text("{'type':'heartbeat'}"), "malformed JSON");
      frames.put(RawSocket.text("{\"type\":\"heartbeat\",\"status\":\"ok\"}{}"), "unexpected data");
      frames.put(RawSocket.text("{\"type\":\"heartbeat\",\"status\":\"ok\"} x"), "");
      frames.put(RawSocket.text("{}"), "missing required field 'type'");
      frames.put(RawSocket.text("{\"type\":\"heartbeat\"}"), "missing required field 'status'");
      frames.put(RawSocket.text(deep), "frame must be a JSON object, got an array");
      frames.put(RawSocket.text("{\"a\":" + deep + "}"), "JSON nested deeper than 64 levels");
      frames.put(
          RawSocket.text(
              "{\"type\":\"heartbeat\",\"status\":\"ok\",\"metadata\":{\"x\":" + deep + "}}"),
          "JSON nested deeper than 64 levels");
      frames.put(
          RawSocket.text("{\"type\":\"heartbeat\",\"status\":\"ok\",\"ignored\":" + deep + "}"),
          "JSON nested deeper than 64 levels");
      frames.put(
          RawSocket.text(
              "{\"type\":\"heartbeat\",\"status\":\"ok\",\"result\":"
                  + "{\"a\":".repeat(10_000)
                  + "1"
                  + "}".repeat(10_000)
                  + "}"),
          "JSON nested deeper than 64 levels");
      // BigDecimal cannot hold this exponent: once an unexpected error (close 1011, a stack trace
      // in the log for every such frame), now a refusal like any other.
      frames.put(
          RawSocket.text("{\"type\":\"heartbeat\",\"status\":\"ok\",\"result\":1e9999999999}"),
          "JSON number out of range");
      for (Map.Entry<byte[], String> e : frames.entrySet()) {
        assertThat(errorOf(s, e.getKey())).contains(e.getValue());
      }
      // A binary frame holding good JSON is served like a text frame (AIP allows it).
      s.write(binary(Frames.heartbeat(MALLORY_DEV).getBytes(UTF_8)));
      assertAckFrame(s);
      assertThat(a.registry().isDeviceConnected(MALLORY_DEV)).isTrue();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void invalidUtf8InATextFrameClosesWith1007AndTheClientIsCleanedUp() {
    try (Arena a = Arena.start()) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      s.write(
          RawSocket.frame(
              RawWsClient.TEXT,
              true,
              concat(
                  "{\"type\":\"heartbeat\",\"status\":\"".getBytes(UTF_8),
                  new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                  "\"}".getBytes(UTF_8))));
      RawWsClient.Frame close = s.readFrame();
      assertThat(close).isNotNull();
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.INVALID_PAYLOAD);
      assertThat(s.closedByHub()).isTrue();
      await().until(() -> !a.registry().isOnline(MALLORY_DEV));
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void wrongJsonTypesForEveryFieldAreRefusedByName() {
    List<String> stringFields =
        List.of(
            "type",
            "status",
            "client_type",
            "session_id",
            "task_name",
            "client_id",
            "target_id",
            "request",
            "timestamp",
            "request_id",
            "prev_response_id",
            "error");
    List<Object> notStrings = List.of(7, 1.5, true, Map.of("a", "b"), List.of("heartbeat"));
    try (Arena a = Arena.start(b -> b.set(BAD_FRAMES_PER_MINUTE, 10_000))) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      for (String field : stringFields) {
        for (Object wrong : notStrings) {
          Map<String, Object> m = heartbeat();
          m.put(field, wrong);
          assertThat(errorOf(s, RawSocket.text(Frames.json(m))))
              .as("%s = %s", field, wrong)
              .contains("field '" + field + "' must be a string or null");
        }
      }
      for (Object wrong : List.of(7, true, "system_info", List.of(Map.of()))) {
        Map<String, Object> m = heartbeat();
        m.put("metadata", wrong);
        assertThat(errorOf(s, RawSocket.text(Frames.json(m))))
            .contains("field 'metadata' must be an object or null");
      }
      for (Object wrong : List.of(7, "results", Map.of("status", "success"))) {
        Map<String, Object> m = heartbeat();
        m.put("action_results", wrong);
        assertThat(errorOf(s, RawSocket.text(Frames.json(m))))
            .contains("field 'action_results' must be an array or null");
      }
      Map<String, Object> notObject = heartbeat();
      notObject.put("action_results", List.of("success"));
      assertThat(errorOf(s, RawSocket.text(Frames.json(notObject))))
          .contains("field 'action_results[0]' must be an object");
      for (String field : List.of("status", "error", "namespace", "call_id")) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("status", "success");
        result.put(field, List.of(1));
        Map<String, Object> m = heartbeat();
        m.put("action_results", List.of(result));
        assertThat(errorOf(s, RawSocket.text(Frames.json(m))))
            .contains("field 'action_results[0]." + field + "' must be a string or null");
      }
      assertAck(s);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void unknownEnumValuesAreRefusedByName() {
    try (Arena a = Arena.start(b -> b.set(BAD_FRAMES_PER_MINUTE, 10_000))) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      Map<String, String> unknown = new LinkedHashMap<>();
      unknown.put("type", "admin_command");
      unknown.put("status", "pwned");
      unknown.put("client_type", "hub");
      for (Map.Entry<String, String> e : unknown.entrySet()) {
        for (String value : List.of(e.getValue(), "HEARTBEAT", "", " ok")) {
          Map<String, Object> m = heartbeat();
          m.put(e.getKey(), value);
          assertThat(errorOf(s, RawSocket.text(Frames.json(m))))
              .as("%s = '%s'", e.getKey(), value)
              .contains("field '" + e.getKey() + "' has unknown value");
        }
      }
      Map<String, Object> m = heartbeat();
      m.put("action_results", List.of(Map.of("status", "exploded")));
      assertThat(errorOf(s, RawSocket.text(Frames.json(m))))
          .contains("field 'action_results[0].status' has unknown value 'exploded'");
      assertAck(s);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void hugeStringsAndArraysInsideTheFrameLimitAreServedOrRefusedAndNothingBreaks() {
    try (Arena a =
        Arena.start(b -> b.set(MAX_FRAME_BYTES, LIMIT).set(BAD_FRAMES_PER_MINUTE, 10_000))) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      WsClient mallory = a.constellation("mallory-galaxy");
      String big = ClientFrames.filler(900 * 1024);

      Map<String, Object> padded = heartbeat();
      padded.put("padding", big);
      s.write(RawSocket.text(Frames.json(padded)));
      assertAckFrame(s);

      Map<String, Object> longArray = heartbeat();
      longArray.put("ignored", new int[150_000]);
      s.write(RawSocket.text(Frames.json(longArray)));
      assertAckFrame(s);

      // Past max_json_tokens (200,000) the frame is refused while it is parsed, even unread.
      Map<String, Object> tooLongArray = heartbeat();
      tooLongArray.put("ignored", new int[200_000]);
      assertThat(errorOf(s, RawSocket.text(Frames.json(tooLongArray))))
          .contains("more than 200000 JSON tokens (max_json_tokens)");

      List<Map<String, Object>> results = new ArrayList<>();
      for (int i = 0; i < 20_000; i++) {
        results.add(Map.of("status", "success", "call_id", "c" + i));
      }
      Map<String, Object> manyResults = Frames.of("command_results", "ok", "device", MALLORY_DEV);
      manyResults.put("action_results", results);
      assertThat(errorOf(s, RawSocket.text(Frames.json(manyResults))))
          .contains("unsupported message type 'command_results'");

      // A big request travels to the device whole.
      mallory.send(Frames.task("mallory-galaxy", MALLORY_DEV, "big-1", big));
      assertThat(mallory.next().sessionId()).isEqualTo("big-1");
      ServerMessage task = s.readFrame().message();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.userRequest()).isEqualTo(big);

      // Names and numbers longer than the parser allows are refused, not parsed.
      String longName = "{\"type\":\"heartbeat\",\"status\":\"ok\",\"" + big + "\":1}";
      assertThat(errorOf(s, RawSocket.text(longName))).contains("longer than the parser allows");
      String longNumber =
          "{\"type\":\"heartbeat\",\"status\":\"ok\",\"result\":" + "9".repeat(50_000) + "}";
      assertThat(errorOf(s, RawSocket.text(longNumber))).contains("longer than the parser allows");

      assertAck(s);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aClientOverItsBadFrameBudgetIsClosedWith1008() {
    try (Arena a = Arena.start(b -> b.set(BAD_FRAMES_PER_MINUTE, 20))) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      for (int i = 0; i < 20; i++) {
        assertThat(errorOf(s, RawSocket.text("not json " + i))).contains("malformed JSON");
      }
      s.write(RawSocket.text("one too many"));
      RawWsClient.Frame last = s.readFrame();
      assertThat(last.opcode()).isEqualTo(RawWsClient.TEXT);
      Arena.assertError(last.message(), "malformed JSON");
      RawWsClient.Frame close = s.readFrame();
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(close.closeReason()).isEqualTo("too many bad frames");
      assertThat(s.closedByHub()).isTrue();
      await().until(() -> !a.registry().isOnline(MALLORY_DEV));
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  private static Map<String, Object> heartbeat() {
    return Frames.of("heartbeat", "ok", "device", MALLORY_DEV);
  }

  /** Sends {@code frame}; the reply must be an error frame, whose text is returned. */
  private static String errorOf(RawSocket s, byte[] frame) {
    s.write(frame);
    RawWsClient.Frame f = s.readFrame();
    assertThat(f).as("a reply, not the end of the connection").isNotNull();
    assertThat(f.opcode()).as("reply %s", f).isEqualTo(RawWsClient.TEXT);
    ServerMessage m = f.message();
    assertThat(m.type()).as("reply %s", m).isEqualTo(ServerMessageType.ERROR);
    assertThat(m.error()).isNotBlank();
    return m.error();
  }

  /** A heartbeat now is answered: the connection is open and served. */
  private static void assertAck(RawSocket s) {
    s.write(RawSocket.text(Frames.heartbeat(MALLORY_DEV)));
    assertAckFrame(s);
  }

  /** The next frame is a heartbeat's answer. */
  private static void assertAckFrame(RawSocket s) {
    ServerMessage m = s.readFrame().message();
    assertThat(m.type()).as("reply %s", m).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.error()).isNull();
  }

  private static byte[] binary(byte[] payload) {
    return RawSocket.frame(RawWsClient.BINARY, true, payload);
  }

  private static byte[] garbage(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    b[0] = (byte) 0xFF; // never valid UTF-8, never JSON
    return b;
  }

  private static byte[] concat(byte[]... parts) {
    int n = Arrays.stream(parts).mapToInt(p -> p.length).sum();
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
