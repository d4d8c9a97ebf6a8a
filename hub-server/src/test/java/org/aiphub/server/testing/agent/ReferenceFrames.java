package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Frames as the reference server writes them (pydantic 2 {@code model_dump_json}): compact JSON,
 * every {@code ServerMessage} field present in declaration order, {@code null} where unset,
 * timestamps as Python's {@code datetime.now(timezone.utc).isoformat()}. Also the few Python
 * renderings the reference puts into texts ({@code repr} of a string or a command).
 */
public final class ReferenceFrames {
  /** {@code ServerMessage} fields in declaration order. */
  public static final List<String> SERVER_FIELDS =
      List.of(
          "type",
          "status",
          "user_request",
          "agent_name",
          "process_name",
          "root_name",
          "actions",
          "messages",
          "error",
          "session_id",
          "task_name",
          "timestamp",
          "response_id",
          "result");

  /** {@code ClientMessage} fields in declaration order. */
  public static final List<String> CLIENT_FIELDS =
      List.of(
          "type",
          "status",
          "client_type",
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
          "metadata");

  /** {@code Result} fields in declaration order. */
  public static final List<String> RESULT_FIELDS =
      List.of("status", "error", "result", "namespace", "call_id");

  static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final DateTimeFormatter SECONDS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);

  private ReferenceFrames() {}

  /** A server frame with every field null but {@code type}, {@code status} and a timestamp. */
  public static ObjectNode server(String type, String status) {
    ObjectNode m = NODES.objectNode();
    for (String f : SERVER_FIELDS) {
      m.putNull(f);
    }
    m.put("type", type);
    m.put("status", status);
    m.put("timestamp", timestamp(Instant.now()));
    return m;
  }

  /**
   * {@code heartbeat}/{@code ok}: the registration reply, the heartbeat answer and, with a session
   * id, the task ack.
   */
  public static ObjectNode heartbeatOk(String sessionId) {
    ObjectNode m = server("heartbeat", "ok");
    m.put("session_id", sessionId);
    m.put("response_id", uuid());
    return m;
  }

  /** {@code error}/{@code error} with a fresh response id and no session id, as every refusal. */
  public static ObjectNode error(String text) {
    ObjectNode m = server("error", "error");
    m.put("error", text);
    m.put("response_id", uuid());
    return m;
  }

  /** The frame as compact JSON text. */
  public static String text(JsonNode frame) {
    try {
      return JSON.writeValueAsString(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A fresh uuid4 in its canonical text form, as Python's {@code str(uuid.uuid4())}. */
  public static String uuid() {
    return UUID.randomUUID().toString();
  }

  /** Python's {@code isoformat()} of an aware UTC datetime: microseconds only when non-zero. */
  public static String timestamp(Instant at) {
    int micros = at.getNano() / 1000;
    String fraction = micros == 0 ? "" : String.format(".%06d", micros);
    return SECONDS.format(at) + fraction + "+00:00";
  }

  /**
   * The reference's {@code sanitize_task_name}: every code point outside {@code [A-Za-z0-9._-]}
   * becomes {@code _}, leading dots go; an empty result falls back to a fresh uuid4.
   */
  public static String sanitizeTaskName(String name) {
    StringBuilder out = new StringBuilder();
    (name == null ? "" : name)
        .codePoints()
        .forEach(
            cp -> {
              boolean safe =
                  (cp >= 'A' && cp <= 'Z')
                      || (cp >= 'a' && cp <= 'z')
                      || (cp >= '0' && cp <= '9')
                      || cp == '.'
                      || cp == '_'
                      || cp == '-';
              out.append(safe ? (char) cp : '_');
            });
    int start = 0;
    while (start < out.length() && out.charAt(start) == '.') {
      start++;
    }
    String sanitized = out.substring(start);
    return sanitized.isEmpty() ? uuid() : sanitized;
  }

  /** Python's {@code repr()} of a JSON value (strings quoted as Python quotes them). */
  public static String pyRepr(JsonNode v) {
    if (v == null || v.isNull() || v.isMissingNode()) {
      return "None";
    }
    if (v.isTextual()) {
      return pyRepr(v.asText());
    }
    if (v.isBoolean()) {
      return v.asBoolean() ? "True" : "False";
    }
    if (v.isNumber()) {
      return v.asText();
    }
    StringBuilder b = new StringBuilder();
    if (v.isArray()) {
      b.append('[');
      for (int i = 0; i < v.size(); i++) {
        b.append(i == 0 ? "" : ", ").append(pyRepr(v.get(i)));
      }
      return b.append(']').toString();
    }
    b.append('{');
    boolean first = true;
    for (Map.Entry<String, JsonNode> e : v.properties()) {
      b.append(first ? "" : ", ")
          .append(pyRepr(e.getKey()))
          .append(": ")
          .append(pyRepr(e.getValue()));
      first = false;
    }
    return b.append('}').toString();
  }

  /** Python's {@code repr()} of a string. */
  public static String pyRepr(String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder b = new StringBuilder().append(quote);
    for (char c : s.toCharArray()) {
      if (c == '\\' || c == quote) {
        b.append('\\').append(c);
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\r') {
        b.append("\\r");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append(quote).toString();
  }
}
