package org.aiphub.core.aip;

import static org.aiphub.core.aip.RandomAip.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.aiphub.core.testing.Fuzz;
import org.junit.jupiter.api.Test;

/**
 * Property tests of the AIP codec, run by the seeded harness {@link Fuzz} over the generators in
 * {@link RandomAip} and {@link RandomJson}: whatever bytes, text or JSON a peer sends, {@link
 * AipCodec#decodeClient} and {@link AipCodec#decodeServer} either return a message or throw an
 * {@link AipDecodeException} with a reason and a short, printable message, never anything else; the
 * nesting and token-size limits hold exactly; and every valid message survives an encode/decode
 * round trip, also with unknown fields and explicit nulls added.
 *
 * <p>Each property also checks, over the whole run, that its generators reach the cases it is about
 * (frames that decode, frames that fail), so a weakened generator fails loudly instead of letting
 * the property pass vacuously.
 */
class AipCodecPropertyTest {
  private static final AipCodec CODEC = new AipCodec();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Longer than anything the codec's own messages need; a quoted input is cut at 40 chars. */
  private static final int MAX_ERROR_MESSAGE = 400;

  /** What a decode call did: a message, or a decode failure (anything else propagates). */
  private record Outcome(Object message, AipDecodeException.Reason failure) {
    String label(String side) {
      return side + (message != null ? " decoded" : " failed " + failure);
    }
  }

  private interface Decode {
    Object run() throws AipDecodeException;
  }

  /**
   * Runs a decode, which must return a message or throw an {@link AipDecodeException} whose message
   * is short printable ASCII (it is sent back to peers and logged); any other exception propagates
   * and fails the property.
   */
  private static Outcome decode(Decode d) {
    try {
      Object m = d.run();
      assertThat(m).as("a decode that does not fail returns a message").isNotNull();
      return new Outcome(m, null);
    } catch (AipDecodeException e) {
      assertThat(e.reason()).isNotNull();
      assertThat(e.getMessage())
          .isNotBlank()
          .hasSizeLessThanOrEqualTo(MAX_ERROR_MESSAGE)
          .matches("[\\x20-\\x7e]*");
      return new Outcome(null, e.reason());
    }
  }

  // ------------------------------------------------------------------ decoding never breaks

  @Test
  void arbitraryBytesOnlyEverFailWithADecodeException() {
    Fuzz.forAll(
            1000,
            t -> {
              byte[] bytes = t.draw("bytes", RandomAip::frameBytes);
              Outcome client = decode(() -> CODEC.decodeClient(bytes));
              Outcome server = decode(() -> CODEC.decodeServer(bytes));
              t.label(client.label("client"));
              t.label(server.label("server"));
            })
        .expectShare("client decoded", 0.06)
        .expectShare("server decoded", 0.06)
        .expectShare("client failed INVALID_UTF8", 0.1)
        .expectShare("client failed MALFORMED_JSON", 0.07)
        .expectShare("client failed NOT_AN_OBJECT", 0.04);
  }

  @Test
  void aSliceDecodesExactlyLikeACopyOfIt() {
    Fuzz.forAll(
            500,
            t -> {
              byte[] bytes = t.draw("bytes", RandomAip::frameBytes);
              int head = t.draw("head", r -> r.nextInt(9));
              int tail = t.draw("tail", r -> r.nextInt(9));
              byte[] padded = new byte[head + bytes.length + tail];
              Arrays.fill(padded, (byte) '{'); // garbage around the slice must not be read
              System.arraycopy(bytes, 0, padded, head, bytes.length);
              Outcome client = decode(() -> CODEC.decodeClient(bytes));
              assertThat(decode(() -> CODEC.decodeClient(padded, head, bytes.length)))
                  .isEqualTo(client);
              assertThat(decode(() -> CODEC.decodeServer(padded, head, bytes.length)))
                  .isEqualTo(decode(() -> CODEC.decodeServer(bytes)));
              t.label(client.message() != null ? "decoded" : "failed");
            })
        .expectShare("decoded", 0.06)
        .expectShare("failed", 0.25);
  }

  @Test
  void arbitraryTextOnlyEverFailsWithADecodeException() {
    Fuzz.forAll(
            1000,
            t -> {
              String text = t.draw("text", RandomAip::anyText);
              Outcome client = decode(() -> CODEC.decodeClient(text));
              decode(() -> CODEC.decodeServer(text));
              byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
              decode(() -> CODEC.decodeClient(utf8));
              decode(() -> CODEC.decodeServer(utf8));
              t.label(client.message() != null ? "decoded" : "failed");
            })
        .expectShare("decoded", 0.05)
        .expectShare("failed", 0.25);
  }

  @Test
  void arbitraryJsonValuesOnlyEverFailWithADecodeException() {
    Fuzz.forAll(
            1000,
            t -> {
              Object value = t.draw("value", r -> RandomJson.json(r, 4));
              byte[] bytes = write(value);
              Outcome client = decode(() -> CODEC.decodeClient(bytes));
              Outcome server = decode(() -> CODEC.decodeServer(bytes));
              if (!(value instanceof Map)) {
                assertThat(client.failure()).as("a frame that is not an object").isNotNull();
                assertThat(server.failure()).as("a frame that is not an object").isNotNull();
              }
              // Text and bytes agree.
              String text = new String(bytes, StandardCharsets.UTF_8);
              assertThat(decode(() -> CODEC.decodeClient(text))).isEqualTo(client);
              assertThat(decode(() -> CODEC.decodeServer(text))).isEqualTo(server);
              t.label(value instanceof Map ? "object" : "not an object");
            })
        .expectShare("object", 0.07)
        .expectShare("not an object", 0.25);
  }

  @Test
  void frameShapedObjectsWithArbitraryFieldValuesDecodeOrFailCleanly() {
    Fuzz.forAll(
            1000,
            t -> {
              Map<String, Object> frame = t.draw("frame", RandomAip::clientShaped);
              Outcome o = decode(() -> CODEC.decodeClient(write(frame)));
              t.label(o.label("client"));
              if (o.message() != null) {
                ClientMessage m = (ClientMessage) o.message();
                assertThat(m.type().wire()).isEqualTo(frame.get("type"));
                assertThat(m.status().wire()).isEqualTo(frame.get("status"));
                Object clientType = frame.get("client_type");
                assertThat(m.clientType().wire())
                    .as("client_type, device when absent or null")
                    .isEqualTo(clientType == null ? "device" : clientType);
                assertThat(m.clientId()).isEqualTo(frame.get("client_id"));
                assertThat(m.sessionId()).isEqualTo(frame.get("session_id"));
                assertThat(m.targetId()).isEqualTo(frame.get("target_id"));
                assertThat(m.request()).isEqualTo(frame.get("request"));
                assertThat(m.requestId()).isEqualTo(frame.get("request_id"));
                assertThat(m.error()).isEqualTo(frame.get("error"));
                assertThat(m.metadata()).isEqualTo(frame.get("metadata"));
                assertThat(m.result()).isEqualTo(frame.get("result"));
                Object results = frame.get("action_results");
                if (results == null) {
                  assertThat(m.actionResults()).isNull();
                } else {
                  assertThat(m.actionResults()).hasSameSizeAs((List<?>) results);
                }
              }
            })
        .expectShare("client decoded", 0.08)
        .expectShare("client failed WRONG_TYPE", 0.12)
        .expectShare("client failed UNKNOWN_ENUM", 0.07)
        .expectShare("client failed MISSING_FIELD", 0.05);
  }

  @Test
  void serverShapedObjectsWithArbitraryFieldValuesDecodeOrFailCleanly() {
    Fuzz.forAll(
            1000,
            t -> {
              Map<String, Object> frame = t.draw("frame", RandomAip::serverShaped);
              Outcome o = decode(() -> CODEC.decodeServer(write(frame)));
              t.label(o.label("server"));
              if (o.message() != null) {
                ServerMessage m = (ServerMessage) o.message();
                assertThat(m.type().wire()).isEqualTo(frame.get("type"));
                assertThat(m.status().wire()).isEqualTo(frame.get("status"));
                assertThat(m.error()).isEqualTo(frame.get("error"));
                assertThat(m.sessionId()).isEqualTo(frame.get("session_id"));
                assertThat(m.messages()).isEqualTo(frame.get("messages"));
                assertThat(m.responseId()).isEqualTo(frame.get("response_id"));
                assertThat(m.result()).isEqualTo(frame.get("result"));
                Object actions = frame.get("actions");
                if (actions == null) {
                  assertThat(m.actions()).isNull();
                } else {
                  assertThat(m.actions()).hasSameSizeAs((List<?>) actions);
                }
              }
            })
        .expectShare("server decoded", 0.12)
        .expectShare("server failed WRONG_TYPE", 0.09)
        .expectShare("server failed UNKNOWN_ENUM", 0.06)
        .expectShare("server failed MISSING_FIELD", 0.07);
  }

  // ---------------------------------------------------------------------------- round trips

  @Test
  void clientMessagesRoundTrip() {
    Fuzz.forAll(
            500,
            t -> {
              ClientMessage m = t.draw("message", RandomAip::clientMessage);
              byte[] encoded = CODEC.encode(m);
              assertThat(streamed(out -> CODEC.encode(m, out))).isEqualTo(encoded);
              assertTypeAndStatus(encoded, m.type().wire(), m.status().wire());
              assertThat(CODEC.decodeClient(encoded)).isEqualTo(m);
              assertThat(CODEC.decodeClient(CODEC.encodeToString(m))).isEqualTo(m);
              if (m.actionResults() != null && !m.actionResults().isEmpty()) {
                t.label("action results");
              }
              if (m.result() instanceof Map || m.result() instanceof List) {
                t.label("structured result");
              }
            })
        .expectShare("action results", 0.1)
        .expectShare("structured result", 0.1);
  }

  @Test
  void serverMessagesRoundTrip() {
    Fuzz.forAll(
            500,
            t -> {
              ServerMessage m = t.draw("message", RandomAip::serverMessage);
              byte[] encoded = CODEC.encode(m);
              assertThat(streamed(out -> CODEC.encode(m, out))).isEqualTo(encoded);
              assertTypeAndStatus(encoded, m.type().wire(), m.status().wire());
              assertThat(CODEC.decodeServer(encoded)).isEqualTo(m);
              assertThat(CODEC.decodeServer(CODEC.encodeToString(m))).isEqualTo(m);
              if (m.actions() != null && !m.actions().isEmpty()) {
                t.label("actions");
              }
              if (m.result() instanceof Map || m.result() instanceof List) {
                t.label("structured result");
              }
            })
        .expectShare("actions", 0.1)
        .expectShare("structured result", 0.1);
  }

  @Test
  void unknownFieldsAndExplicitNullsChangeNothing() {
    Fuzz.forAll(
            500,
            t -> {
              ClientMessage m = t.draw("message", RandomAip::clientMessage);
              Map<String, Object> unknown = t.draw("unknown", RandomAip::unknownFields);
              Map<String, Object> frame = parse(CODEC.encode(m));
              int nulls = 0;
              for (String optional :
                  List.of(
                      "session_id",
                      "task_name",
                      "client_id",
                      "target_id",
                      "request",
                      "action_results",
                      "timestamp",
                      "request_id",
                      "prev_response_id",
                      "error",
                      "metadata",
                      "result")) {
                if (!frame.containsKey(optional)) {
                  frame.put(optional, null);
                  nulls++;
                }
              }
              t.label(nulls > 0 ? "explicit nulls" : "no explicit nulls");
              unknown.forEach(frame::putIfAbsent);
              t.label(unknown.isEmpty() ? "no unknown fields" : "unknown fields");
              assertThat(CODEC.decodeClient(write(frame))).isEqualTo(m);
            })
        .expectShare("unknown fields", 0.25)
        .expectShare("explicit nulls", 0.3);
  }

  // ------------------------------------------------------------------------------ limits

  @Test
  void nestingIsRefusedExactlyPastTheLimit() {
    Fuzz.forAll(
            300,
            t -> {
              int maxDepth = t.draw("maxDepth", r -> r.nextBoolean() ? 64 : r.nextInt(2, 80));
              // metadata is level 2; `depth` more levels inside it, near the limit half the time.
              int depth =
                  t.draw(
                      "depth",
                      r ->
                          r.nextBoolean()
                              ? r.nextInt(1, 201)
                              : Math.max(1, maxDepth - 4 + r.nextInt(7)));
              String nested = t.draw("nested", r -> nest(r, depth));
              AipCodec codec = new AipCodec(maxDepth);
              String frame =
                  "{\"type\":\"heartbeat\",\"status\":\"ok\",\"metadata\":{\"x\":" + nested + "}}";
              Outcome bytes =
                  decode(() -> codec.decodeClient(frame.getBytes(StandardCharsets.UTF_8)));
              assertThat(decode(() -> codec.decodeClient(frame))).isEqualTo(bytes);
              if (depth + 2 > maxDepth) {
                assertThat(bytes.failure()).isEqualTo(AipDecodeException.Reason.TOO_DEEP);
                t.label("too deep");
              } else {
                assertThat(bytes.message()).isInstanceOf(ClientMessage.class);
                t.label("accepted");
              }
              if (Math.abs(depth + 2 - maxDepth) <= 1) {
                t.label("at the limit");
              }
            })
        .expectShare("too deep", 0.2)
        .expectShare("accepted", 0.12)
        .expectShare("at the limit", 0.09);
  }

  /** {@code depth} nested arrays and objects (at random), innermost empty or a scalar. */
  private static String nest(SplittableRandom r, int depth) {
    StringBuilder open = new StringBuilder();
    StringBuilder close = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      if (r.nextBoolean()) {
        open.append('[');
        close.insert(0, ']');
      } else {
        open.append("{\"k\":");
        close.insert(0, '}');
      }
    }
    // An object level needs a value; an array level may stay empty.
    boolean needsValue = depth > 0 && open.charAt(open.length() - 1) == ':';
    return open.append(needsValue || r.nextBoolean() ? "1" : "").append(close).toString();
  }

  @Test
  void tokensPastTheParserLimitsAreTooLargeAndTheRestDecodes() {
    StreamReadConstraints limits = StreamReadConstraints.defaults();
    int maxNumber = limits.getMaxNumberLength();
    int maxName = limits.getMaxNameLength();
    Fuzz.forAll(
            300,
            t -> {
              boolean client = t.draw("client", SplittableRandom::nextBoolean);
              Object m =
                  t.draw(
                      "message",
                      r -> client ? RandomAip.clientMessage(r) : RandomAip.serverMessage(r));
              int kind =
                  t.draw("kind (0 int, 1 decimal, 2 name, 3 string, 4 array)", r -> r.nextInt(5));
              int limit = kind == 2 ? maxName : maxNumber;
              int size =
                  t.draw(
                      "size",
                      r -> r.nextBoolean() ? limit - 2 + r.nextInt(5) : r.nextInt(1, 2 * limit));
              String digits = "9".repeat(size);
              String extra;
              boolean tooLarge;
              switch (kind) {
                case 0:
                  extra = "\"x_huge\":-" + digits; // the sign does not count
                  tooLarge = size > maxNumber;
                  break;
                case 1:
                  // integer and fraction digits count together
                  extra =
                      "\"x_huge\":"
                          + digits.substring(0, size / 2 + 1)
                          + "."
                          + digits.substring(size / 2 + 1)
                          + "1";
                  tooLarge = size + 1 > maxNumber;
                  break;
                case 2:
                  extra = "\"" + "x".repeat(size) + "\":1";
                  tooLarge = size > maxName;
                  break;
                case 3:
                  extra = "\"x_huge\":\"" + "x".repeat(size * 100) + "\"";
                  tooLarge = false; // far below the parser's 20M-char string limit
                  break;
                default:
                  extra = "\"x_huge\":[" + "[1,{\"a\":[]}],".repeat(size) + "0]";
                  tooLarge = false; // width is not limited, only depth
              }
              String encoded =
                  client
                      ? CODEC.encodeToString((ClientMessage) m)
                      : CODEC.encodeToString((ServerMessage) m);
              String frame = encoded.substring(0, encoded.length() - 1) + "," + extra + "}";
              byte[] utf8 = frame.getBytes(StandardCharsets.UTF_8);
              Outcome bytes =
                  decode(() -> client ? CODEC.decodeClient(utf8) : CODEC.decodeServer(utf8));
              Outcome text =
                  decode(() -> client ? CODEC.decodeClient(frame) : CODEC.decodeServer(frame));
              assertThat(text).isEqualTo(bytes);
              if (tooLarge) {
                assertThat(bytes.failure()).isEqualTo(AipDecodeException.Reason.TOO_LARGE);
                t.label("too large");
              } else {
                assertThat(bytes.message()).isEqualTo(m);
                t.label("decoded");
              }
            })
        .expectShare("too large", 0.1)
        .expectShare("decoded", 0.25);
  }

  @Test
  void aFrameCutShortIsADecodeFailure() {
    Fuzz.forAll(
        500,
        t -> {
          ClientMessage m = t.draw("message", RandomAip::clientMessage);
          byte[] full = CODEC.encode(m);
          int len = t.draw("length", r -> r.nextInt(full.length));
          byte[] truncated = Arrays.copyOf(full, len);
          assertThatThrownBy(() -> CODEC.decodeClient(truncated))
              .isInstanceOf(AipDecodeException.class);
          assertThatThrownBy(() -> CODEC.decodeClient(full, 0, len))
              .isInstanceOf(AipDecodeException.class);
        });
  }

  // ------------------------------------------------------------------------------- helpers

  private interface Encoder {
    void encode(ByteArrayOutputStream out);
  }

  private static byte[] streamed(Encoder e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    e.encode(out);
    return out.toByteArray();
  }

  /** The encoder's output is a JSON object with the wire spellings of type and status. */
  private static void assertTypeAndStatus(byte[] encoded, String type, String status) {
    Map<String, Object> frame = parse(encoded);
    assertThat(frame).containsEntry("type", type).containsEntry("status", status);
  }

  private static Map<String, Object> parse(byte[] json) {
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> m = JSON.readValue(json, LinkedHashMap.class);
      return m;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
