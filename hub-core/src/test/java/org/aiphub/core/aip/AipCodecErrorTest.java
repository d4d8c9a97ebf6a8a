package org.aiphub.core.aip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipDecodeException.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AipCodecErrorTest {
  private final AipCodec codec = new AipCodec(8);

  private AipDecodeException clientError(String json) {
    return catchThrowableOfType(AipDecodeException.class, () -> codec.decodeClient(json));
  }

  private AipDecodeException clientError(byte[] bytes) {
    return catchThrowableOfType(AipDecodeException.class, () -> codec.decodeClient(bytes));
  }

  @Test
  void emptyAndBlankFramesAreRefused() {
    assertThat(clientError("").reason()).isEqualTo(Reason.EMPTY);
    assertThat(clientError(" \n\t ").reason()).isEqualTo(Reason.EMPTY);
    assertThat(clientError(new byte[0]).reason()).isEqualTo(Reason.EMPTY);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"{", "{\"type\":", "not json", "{\"type\":\"task\",}", "{'type':'task'}", "NaN"})
  void brokenJsonIsMalformed(String frame) {
    AipDecodeException e = clientError(frame);
    assertThat(e.reason()).isEqualTo(Reason.MALFORMED_JSON);
    assertThat(e.getMessage()).startsWith("malformed JSON");
  }

  @ParameterizedTest
  @ValueSource(strings = {"[]", "[{\"type\":\"task\"}]", "\"task\"", "42", "true", "null"})
  void jsonThatIsNotAnObjectIsRefused(String frame) {
    AipDecodeException e = clientError(frame);
    assertThat(e.reason()).isEqualTo(Reason.NOT_AN_OBJECT);
    assertThat(e.getMessage()).startsWith("frame must be a JSON object, got ");
  }

  @Test
  void dataAfterTheObjectIsRefused() {
    assertThat(clientError("{\"type\":\"heartbeat\",\"status\":\"ok\"} {}").reason())
        .isEqualTo(Reason.TRAILING_DATA);
  }

  @Test
  void typeAndStatusAreRequiredAndNullCountsAsMissing() {
    assertThat(clientError("{\"status\":\"ok\"}").getMessage())
        .isEqualTo("missing required field 'type'");
    assertThat(clientError("{\"type\":\"heartbeat\"}").getMessage())
        .isEqualTo("missing required field 'status'");
    assertThat(clientError("{\"type\":null,\"status\":\"ok\"}").reason())
        .isEqualTo(Reason.MISSING_FIELD);
    assertThat(clientError("{\"type\":\"heartbeat\",\"status\":null}").reason())
        .isEqualTo(Reason.MISSING_FIELD);
  }

  @Test
  void unknownEnumValuesAreNamed() {
    assertThat(clientError("{\"type\":\"launch\",\"status\":\"ok\"}").getMessage())
        .isEqualTo("field 'type' has unknown value 'launch'");
    assertThat(clientError("{\"type\":\"task\",\"status\":\"running\"}").getMessage())
        .isEqualTo("field 'status' has unknown value 'running'");
    assertThat(
            clientError("{\"type\":\"task\",\"status\":\"ok\",\"client_type\":\"robot\"}").reason())
        .isEqualTo(Reason.UNKNOWN_ENUM);
    // Wire spellings are exact, as pydantic's are.
    assertThat(clientError("{\"type\":\"TASK\",\"status\":\"ok\"}").reason())
        .isEqualTo(Reason.UNKNOWN_ENUM);
    assertThat(
            clientError(
                    "{\"type\":\"command_results\",\"status\":\"ok\",\"action_results\":[{\"status\":\"maybe\"}]}")
                .getMessage())
        .isEqualTo("field 'action_results[0].status' has unknown value 'maybe'");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
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
        "error"
      })
  void everyStringFieldRefusesOtherJsonTypes(String field) {
    for (String bad : List.of("1", "2.5", "true", "{}", "[]")) {
      String frame = "{\"type\":\"heartbeat\",\"status\":\"ok\",\"" + field + "\":" + bad + "}";
      AipDecodeException e = clientError(frame);
      assertThat(e.reason()).as(frame).isEqualTo(Reason.WRONG_TYPE);
      assertThat(e.getMessage()).startsWith("field '" + field + "' must be a string or null, got ");
    }
  }

  @Test
  void structuredFieldsRefuseOtherJsonTypes() {
    String base = "{\"type\":\"heartbeat\",\"status\":\"ok\",";
    assertThat(clientError(base + "\"metadata\":[1]}").getMessage())
        .isEqualTo("field 'metadata' must be an object or null, got an array");
    assertThat(clientError(base + "\"metadata\":\"x\"}").reason()).isEqualTo(Reason.WRONG_TYPE);
    assertThat(clientError(base + "\"action_results\":{}}").getMessage())
        .isEqualTo("field 'action_results' must be an array or null, got an object");
    assertThat(clientError(base + "\"action_results\":[1]}").getMessage())
        .isEqualTo("field 'action_results[0]' must be an object or null, got a number");
    assertThat(clientError(base + "\"action_results\":[{}]}").getMessage())
        .isEqualTo("missing required field 'action_results[0].status'");
    assertThat(
            clientError(base + "\"action_results\":[{\"status\":\"success\",\"call_id\":7}]}")
                .getMessage())
        .isEqualTo("field 'action_results[0].call_id' must be a string or null, got a number");
  }

  @Test
  void serverFramesAreCheckedTheSameWay() {
    AipDecodeException e =
        catchThrowableOfType(
            AipDecodeException.class,
            () ->
                codec.decodeServer(
                    "{\"type\":\"command\",\"status\":\"continue\",\"actions\":[{\"tool_name\":\"x\"}]}"));
    assertThat(e.getMessage()).isEqualTo("missing required field 'actions[0].tool_type'");
    e =
        catchThrowableOfType(
            AipDecodeException.class,
            () ->
                codec.decodeServer("{\"type\":\"heartbeat\",\"status\":\"ok\",\"messages\":[1]}"));
    assertThat(e.getMessage())
        .isEqualTo("field 'messages[0]' must be a string or null, got a number");
    e =
        catchThrowableOfType(
            AipDecodeException.class,
            () -> codec.decodeServer("{\"type\":\"register\",\"status\":\"ok\"}"));
    assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_ENUM);
  }

  @Test
  void nestingUpToTheLimitIsAcceptedAndOneMoreLevelIsRefused() throws Exception {
    // The frame object is level 1, metadata level 2, so 7 nested objects reach level 8.
    String ok = "{\"type\":\"heartbeat\",\"status\":\"ok\",\"metadata\":" + nest(7) + "}";
    assertThat(codec.decodeClient(ok).metadata()).isNotNull();
    String deep = "{\"type\":\"heartbeat\",\"status\":\"ok\",\"metadata\":" + nest(8) + "}";
    AipDecodeException e = clientError(deep);
    assertThat(e.reason()).isEqualTo(Reason.TOO_DEEP);
    assertThat(e.getMessage()).isEqualTo("JSON nested deeper than 8 levels");
  }

  @Test
  void deepNestingInAnUnknownFieldIsRefusedWithoutStackOverflow() {
    String deep = "[".repeat(10_000) + "]".repeat(10_000);
    assertThat(
            clientError("{\"type\":\"heartbeat\",\"status\":\"ok\",\"junk\":" + deep + "}")
                .reason())
        .isEqualTo(Reason.TOO_DEEP);
    // A top-level array is refused at its first token, before any depth is reached.
    assertThat(clientError(deep).reason()).isEqualTo(Reason.NOT_AN_OBJECT);
    AipCodec defaults = new AipCodec();
    assertThatThrownBy(() -> defaults.decodeClient("{\"result\":" + deep + "}"))
        .isInstanceOf(AipDecodeException.class)
        .hasMessage("JSON nested deeper than 64 levels");
  }

  @Test
  void oversizedNumbersAreTooLarge() {
    String frame = "{\"type\":\"heartbeat\",\"status\":\"ok\",\"junk\":" + "9".repeat(5000) + "}";
    assertThat(clientError(frame).reason()).isEqualTo(Reason.TOO_LARGE);
  }

  @Test
  void numbersBeyondBigDecimalRangeAreTooLargeNotACrash() throws Exception {
    // Found by AipCodecPropertyTest: BigDecimal's scale is an int, so Jackson threw a
    // NumberFormatException past it, which escaped the codec as an unexpected error.
    for (String n : List.of("1e9999999999", "-2.5E2147483648")) {
      for (String frame :
          List.of(
              "{\"type\":\"heartbeat\",\"status\":\"ok\",\"result\":" + n + "}",
              "{\"type\":\"register\",\"status\":\"ok\",\"metadata\":{\"a\":[" + n + "]}}")) {
        AipDecodeException e = clientError(frame);
        assertThat(e).as(frame).isNotNull();
        assertThat(e.reason()).as(frame).isEqualTo(Reason.TOO_LARGE);
        assertThat(e.getMessage()).isEqualTo("JSON number out of range");
        assertThat(clientError(frame.getBytes(StandardCharsets.UTF_8)).reason())
            .isEqualTo(Reason.TOO_LARGE);
      }
    }
    // The largest exponent BigDecimal holds still decodes, exactly.
    ClientMessage m =
        codec.decodeClient("{\"type\":\"heartbeat\",\"status\":\"ok\",\"result\":1e2147483647}");
    assertThat(m.result()).isEqualTo(new BigDecimal("1e2147483647"));
  }

  @Test
  void invalidUtf8IsRefusedBeforeParsing() {
    byte[][] bad = {
      {'{', (byte) 0x80, '}'}, // lone continuation byte
      {'{', '"', (byte) 0xC0, (byte) 0xAF, '"', '}'}, // overlong '/'
      {'{', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'}, // UTF-16 surrogate
      {'{', '"', (byte) 0xE2, (byte) 0x82, '}'}, // truncated sequence
      {'{', '"', (byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80, '"', '}'}, // > U+10FFFF
      {(byte) 0xFF},
    };
    for (byte[] b : bad) {
      AipDecodeException e = clientError(b);
      assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
      assertThat(e.getMessage()).isEqualTo("frame is not valid UTF-8");
    }
  }

  @Test
  void errorMessagesStayShortAndFreeOfControlCharactersWhateverTheInput() {
    String huge = "x".repeat(3_000_000) + "\\n\\r\\u0000";
    AipDecodeException e = clientError("{\"type\":\"" + huge + "\",\"status\":\"ok\"}");
    assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_ENUM);
    assertThat(e.getMessage()).hasSizeLessThan(120).doesNotContain("\n", "\r", "\u0000");
    AipDecodeException ctl = clientError("{\"type\":\"a\\nb\\u0000'\",\"status\":\"ok\"}");
    assertThat(ctl.getMessage())
        .isEqualTo("field 'type' has unknown value 'a\\u000ab\\u0000\\u0027'");
    assertThat(ctl.getStackTrace()).isEmpty();
  }

  @Test
  void unknownFieldsOfAnyShapeAreIgnoredAndNullEqualsAbsent() throws Exception {
    ClientMessage m =
        codec.decodeClient(
            "{\"zzz\":{\"a\":[1,{\"b\":null}]},\"type\":\"heartbeat\",\"status\":\"ok\","
                + "\"client_type\":null,\"metadata\":null,\"result\":null,\"extra\":\"x\"}");
    assertThat(m)
        .isEqualTo(ClientMessage.builder(ClientMessageType.HEARTBEAT, TaskStatus.OK).build());
    assertThat(m.clientType()).isEqualTo(ClientType.DEVICE);
  }

  @Test
  void nonAsciiTextSurvivesBothInputForms() throws Exception {
    String frame =
        "{\"type\":\"task\",\"status\":\"continue\",\"request\":\"打开 Excel – ünïcode 🚀\"}";
    assertThat(codec.decodeClient(frame.getBytes(StandardCharsets.UTF_8)).request())
        .isEqualTo("打开 Excel – ünïcode 🚀");
    assertThat(codec.decodeClient(frame).request()).isEqualTo("打开 Excel – ünïcode 🚀");
  }

  @Test
  void resultExtensionAcceptsAnyJsonValue() throws Exception {
    for (String v :
        List.of("1", "\"done\"", "[1,null,{\"a\":true}]", "{\"x\":{\"y\":[]}}", "false")) {
      ClientMessage m =
          codec.decodeClient(
              "{\"type\":\"task_end\",\"status\":\"completed\",\"result\":" + v + "}");
      assertThat(m.result()).as(v).isNotNull();
      assertThat(codec.decodeClient(codec.encode(m))).isEqualTo(m);
    }
    ClientMessage m =
        codec.decodeClient(
            "{\"type\":\"task_end\",\"status\":\"completed\",\"result\":{\"n\":null}}");
    @SuppressWarnings("unchecked")
    Map<String, Object> result = (Map<String, Object>) m.result();
    assertThat(result).containsEntry("n", null);
  }

  @Test
  void aDepthLimitBelowTwoIsRejected() {
    assertThatThrownBy(() -> new AipCodec(1)).isInstanceOf(IllegalArgumentException.class);
  }

  private static String nest(int levels) {
    return "{\"a\":".repeat(levels - 1) + "{}" + "}".repeat(levels - 1);
  }
}
