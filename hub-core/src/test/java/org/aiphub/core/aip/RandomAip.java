package org.aiphub.core.aip;

import static org.aiphub.core.aip.RandomJson.json;
import static org.aiphub.core.aip.RandomJson.list;
import static org.aiphub.core.aip.RandomJson.object;
import static org.aiphub.core.aip.RandomJson.optText;
import static org.aiphub.core.aip.RandomJson.orNull;
import static org.aiphub.core.aip.RandomJson.text;
import static org.aiphub.core.testing.Fuzz.oneOf;
import static org.aiphub.core.testing.Fuzz.weighted;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Seeded generators of AIP inputs: valid client and server messages, frame-shaped JSON objects with
 * arbitrary field values and types, and frame bytes (random bytes, JSON text, valid frames, golden
 * fixture frames, and both with a few bytes broken).
 */
final class RandomAip {
  private static final AipCodec CODEC = new AipCodec();

  /**
   * Writes doubles in their shortest form, as the codec does: Java 17's Double.toString sometimes
   * writes another number that reads back as the same double (-2.31997619226451104E17 for
   * -2.319976192264511E17), which the codec, keeping numbers as written, holds exactly instead.
   */
  private static final ObjectMapper JSON =
      new ObjectMapper(
          JsonFactory.builder().enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build());

  private static final byte[] JSON_BYTES =
      "{}[]\":,\\ 0-.eEtrufalsn".getBytes(StandardCharsets.UTF_8);

  private RandomAip() {}

  // ---------------------------------------------------------------------------- messages

  static Result result(SplittableRandom r) {
    return new Result(
        oneOf(r, ResultStatus.values()), optText(r), json(r, 2), optText(r), optText(r));
  }

  /** A valid client message: every optional field null or set to any value of its type. */
  static ClientMessage clientMessage(SplittableRandom r) {
    return new ClientMessage(
        oneOf(r, ClientMessageType.values()),
        oneOf(r, TaskStatus.values()),
        oneOf(r, ClientType.values()),
        optText(r),
        optText(r),
        optText(r),
        optText(r),
        optText(r),
        orNull(r, 0.5, x -> list(x, 3, RandomAip::result)),
        optText(r),
        optText(r),
        optText(r),
        optText(r),
        orNull(r, 0.3, x -> object(x, 2)),
        json(r, 3));
  }

  static Command command(SplittableRandom r) {
    return new Command(
        text(r), orNull(r, 0.3, x -> object(x, 2)), oneOf(r, ToolType.values()), optText(r));
  }

  /** A valid server message: every optional field null or set to any value of its type. */
  static ServerMessage serverMessage(SplittableRandom r) {
    return new ServerMessage(
        oneOf(r, ServerMessageType.values()),
        oneOf(r, TaskStatus.values()),
        optText(r),
        optText(r),
        optText(r),
        optText(r),
        orNull(r, 0.5, x -> list(x, 3, RandomAip::command)),
        orNull(r, 0.5, x -> list(x, 3, RandomJson::text)),
        optText(r),
        optText(r),
        optText(r),
        optText(r),
        optText(r),
        json(r, 3));
  }

  /** Fields no AIP message has ({@code x_} prefix), with any JSON values. */
  static Map<String, Object> unknownFields(SplittableRandom r) {
    Map<String, Object> prefixed = new LinkedHashMap<>();
    object(r, 2).forEach((k, v) -> prefixed.put("x_" + k, v));
    return prefixed;
  }

  // ----------------------------------------------------------------- frame-shaped objects

  /**
   * A client frame's fields, each present or not: {@code type} and {@code status} nearly always,
   * mostly valid wire values; the others mostly of the right type, sometimes any JSON or null.
   */
  static Map<String, Object> clientShaped(SplittableRandom r) {
    Map<String, Function<SplittableRandom, Object>> f = new LinkedHashMap<>();
    f.put("type", x -> wire(x, ClientMessageType.values()));
    f.put("status", x -> wire(x, TaskStatus.values()));
    f.put("client_type", x -> field(x, y -> wire(y, ClientType.values())));
    f.put("session_id", x -> field(x, RandomJson::text));
    f.put("client_id", x -> field(x, RandomJson::text));
    f.put("target_id", x -> field(x, RandomJson::text));
    f.put("request", x -> field(x, RandomJson::text));
    f.put("metadata", x -> field(x, y -> object(y, 2)));
    f.put("action_results", x -> field(x, y -> list(y, 3, RandomAip::resultShaped)));
    f.put("result", x -> json(x, 3));
    f.put("request_id", x -> field(x, RandomJson::text));
    f.put("error", x -> field(x, RandomJson::text));
    return shaped(r, f);
  }

  /** A server frame's fields, as {@link #clientShaped} does it. */
  static Map<String, Object> serverShaped(SplittableRandom r) {
    Map<String, Function<SplittableRandom, Object>> f = new LinkedHashMap<>();
    f.put("type", x -> wire(x, ServerMessageType.values()));
    f.put("status", x -> wire(x, TaskStatus.values()));
    f.put("error", x -> field(x, RandomJson::text));
    f.put("session_id", x -> field(x, RandomJson::text));
    f.put("messages", x -> field(x, y -> list(y, 3, RandomJson::text)));
    f.put("actions", x -> field(x, y -> list(y, 3, RandomAip::commandShaped)));
    f.put("result", x -> json(x, 3));
    f.put("response_id", x -> field(x, RandomJson::text));
    return shaped(r, f);
  }

  private static Map<String, Object> resultShaped(SplittableRandom r) {
    Map<String, Function<SplittableRandom, Object>> f = new LinkedHashMap<>();
    f.put("status", x -> wire(x, ResultStatus.values()));
    f.put("call_id", x -> field(x, RandomJson::text));
    f.put("error", x -> field(x, RandomJson::text));
    f.put("result", x -> json(x, 2));
    f.put("namespace", x -> field(x, RandomJson::text));
    return shaped(r, f);
  }

  private static Map<String, Object> commandShaped(SplittableRandom r) {
    Map<String, Function<SplittableRandom, Object>> f = new LinkedHashMap<>();
    f.put("tool_name", x -> field(x, RandomJson::text));
    f.put("tool_type", x -> field(x, y -> wire(y, ToolType.values())));
    f.put("parameters", x -> field(x, y -> object(y, 2)));
    f.put("call_id", x -> field(x, RandomJson::text));
    return shaped(r, f);
  }

  /** An AIP field value: right-typed 4 in 6, any JSON 1 in 6, null 1 in 6. */
  private static Object field(SplittableRandom r, Function<SplittableRandom, ?> wellTyped) {
    switch (weighted(r, 4, 1, 1)) {
      case 0:
        return wellTyped.apply(r);
      case 1:
        return json(r, 2);
      default:
        return null;
    }
  }

  /** A wire spelling of one of {@code constants} 8 in 9, any text 1 in 9. */
  private static Object wire(SplittableRandom r, Object[] constants) {
    return weighted(r, 8, 1) == 0 ? String.valueOf(oneOf(r, constants)) : text(r);
  }

  /** Each field present or not; the first two (type, status) are missing only 1 in 4. */
  private static Map<String, Object> shaped(
      SplittableRandom r, Map<String, Function<SplittableRandom, Object>> fields) {
    int present = r.nextInt(1 << fields.size());
    Map<String, Object> m = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, Function<SplittableRandom, Object>> f : fields.entrySet()) {
      boolean keep = i < 2 ? (present & 3) != 0 : (present & (1 << i)) != 0;
      if (keep) {
        m.put(f.getKey(), f.getValue().apply(r));
      }
      i++;
    }
    return m;
  }

  // -------------------------------------------------------------------------------- text

  /** Pieces of JSON and AIP that text is built from, so it gets past the first token often. */
  private static final String[] FRAGMENTS = {
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5e3",
    "1e999",
    "\"type\"",
    "\"status\"",
    "\"heartbeat\"",
    "\"ok\"",
    "\"register\"",
    "\"metadata\"",
    " ",
    "\n",
    "\ufeff",
    "\ud800",
    "\udc00"
  };

  /**
   * Any Java string, as a peer's text frame may hold after a broken decoder: random UTF-16 code
   * units (lone surrogates included), strings of JSON fragments, valid frame text, or valid frame
   * text with a few characters broken.
   */
  static String anyText(SplittableRandom r) {
    switch (weighted(r, 2, 2, 1, 3)) {
      case 0:
        {
          StringBuilder b = new StringBuilder();
          for (int n = RandomJson.size(r, 64); n > 0; n--) {
            b.append(anyChar(r));
          }
          return b.toString();
        }
      case 1:
        {
          StringBuilder b = new StringBuilder();
          for (int n = RandomJson.size(r, 24); n > 0; n--) {
            b.append(r.nextInt(4) == 0 ? String.valueOf(anyChar(r)) : oneOf(r, FRAGMENTS));
          }
          return b.toString();
        }
      case 2:
        return validText(r);
      default:
        {
          StringBuilder b = new StringBuilder(validText(r));
          for (int edits = r.nextInt(1, 5); edits > 0 && b.length() > 0; edits--) {
            int at = r.nextInt(b.length());
            switch (r.nextInt(4)) {
              case 0:
                b.setLength(at);
                break;
              case 1:
                b.setCharAt(at, anyChar(r));
                break;
              case 2:
                b.insert(at, anyChar(r));
                break;
              default:
                b.deleteCharAt(at);
            }
          }
          return b.toString();
        }
    }
  }

  private static String validText(SplittableRandom r) {
    return r.nextBoolean()
        ? CODEC.encodeToString(clientMessage(r))
        : CODEC.encodeToString(serverMessage(r));
  }

  /** Any UTF-16 code unit (surrogates included), printable ASCII half the time. */
  private static char anyChar(SplittableRandom r) {
    return (char) (r.nextBoolean() ? r.nextInt(0x20, 0x7f) : r.nextInt(0x10000));
  }

  // ------------------------------------------------------------------------- frame bytes

  /**
   * Frame bytes: random bytes, JSON text of any value, valid encoded frames, golden fixture frames,
   * and valid or golden frames with one to four bytes broken.
   */
  static byte[] frameBytes(SplittableRandom r) {
    switch (weighted(r, 2, 2, 1, 4, 1, 3)) {
      case 0:
        return randomBytes(r, 64);
      case 1:
        return write(json(r, 3));
      case 2:
        return validFrame(r);
      case 3:
        return mutate(r, validFrame(r));
      case 4:
        return goldenFrame(r);
      default:
        return mutate(r, goldenFrame(r));
    }
  }

  /** Up to {@code max} bytes: any byte, or one that means something in JSON. */
  static byte[] randomBytes(SplittableRandom r, int max) {
    byte[] b = new byte[RandomJson.size(r, max)];
    for (int i = 0; i < b.length; i++) {
      b[i] = anyByte(r);
    }
    return b;
  }

  private static byte anyByte(SplittableRandom r) {
    return r.nextInt(4) == 0 ? JSON_BYTES[r.nextInt(JSON_BYTES.length)] : (byte) r.nextInt(256);
  }

  /** An encoded valid client or server message. */
  static byte[] validFrame(SplittableRandom r) {
    return r.nextBoolean() ? CODEC.encode(clientMessage(r)) : CODEC.encode(serverMessage(r));
  }

  /** One of the golden client or server frames, byte for byte. */
  static byte[] goldenFrame(SplittableRandom r) {
    List<String> names = r.nextBoolean() ? Fixtures.CLIENT : Fixtures.SERVER;
    return Fixtures.bytes(names.get(r.nextInt(names.size())));
  }

  /**
   * Applies one to four edits at random positions: truncate there, overwrite a byte, insert a byte
   * or delete a byte.
   */
  static byte[] mutate(SplittableRandom r, byte[] frame) {
    byte[] b = frame.clone();
    int edits = r.nextInt(1, 5);
    for (int e = 0; e < edits && b.length > 0; e++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(4)) {
        case 0:
          b = Arrays.copyOf(b, at);
          break;
        case 1:
          b[at] = anyByte(r);
          break;
        case 2:
          {
            byte[] longer = new byte[b.length + 1];
            System.arraycopy(b, 0, longer, 0, at);
            longer[at] = anyByte(r);
            System.arraycopy(b, at, longer, at + 1, b.length - at);
            b = longer;
            break;
          }
        default:
          {
            byte[] shorter = new byte[b.length - 1];
            System.arraycopy(b, 0, shorter, 0, at);
            System.arraycopy(b, at + 1, shorter, at, b.length - at - 1);
            b = shorter;
          }
      }
    }
    return b;
  }

  static byte[] write(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }
}
