package org.aiphub.core.aip;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipDecodeException.Reason;
import org.aiphub.core.json.JsonValues;

/**
 * Decodes AIP frames into records and encodes records into compact JSON. Thread-safe; share one
 * instance.
 *
 * <p>Decoding follows docs/PROTOCOL.md ("Transport and authentication", "Bad frames"): unknown
 * fields are ignored, an explicit {@code null} is the same as an absent field, {@code client_type}
 * defaults to {@code device}, and client messages may carry the hub's {@code result} extension.
 * Anything else is refused with an {@link AipDecodeException} that says what was wrong.
 *
 * <p>Encoding writes {@code type} and {@code status} always and every other field only when it is
 * not {@code null}. The reference (pydantic) models default every optional field to {@code None},
 * so an omitted field reads exactly like the explicit {@code null} they would have sent themselves,
 * and frames stay small.
 */
public final class AipCodec {
  /** Default limit on object/array nesting; real AIP frames nest less than ten levels. */
  public static final int DEFAULT_MAX_DEPTH = 64;

  /**
   * Default limit on the JSON tokens of one client frame (every value, field name and bracket
   * counts one). A registration has about a hundred; a 4 MiB frame of ordinary JSON, with strings
   * of a few dozen characters, under 100,000; a 4 MiB frame of {@code [0,0,0,...]} two million.
   */
  public static final long DEFAULT_MAX_TOKENS = 200_000;

  private static final int MAX_QUOTED = 40;

  private final JsonFactory factory;
  private final JsonFactory clientFactory;
  private final int maxDepth;
  private final long maxTokens;

  /** A codec with the default nesting and token limits. */
  public AipCodec() {
    this(DEFAULT_MAX_DEPTH);
  }

  /**
   * A codec that refuses JSON nested deeper than {@code maxDepth} levels (the frame's own object is
   * level 1), with the default token limit.
   */
  public AipCodec(int maxDepth) {
    this(maxDepth, DEFAULT_MAX_TOKENS);
  }

  /**
   * A codec that refuses JSON nested deeper than {@code maxDepth} levels, and client frames of more
   * than {@code maxTokens} JSON tokens. The tokens are counted by the parser as it reads, skipped
   * fields included, so a frame over the limit costs no more than the limit to refuse: decoding a
   * frame costs O(its bytes) time and O(maxTokens) objects whatever it holds. Server frames (which
   * the hub writes itself and only relays between cluster nodes) are not counted.
   */
  public AipCodec(int maxDepth, long maxTokens) {
    if (maxDepth < 2) {
      throw new IllegalArgumentException("maxDepth must be at least 2, was " + maxDepth);
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens must be positive, was " + maxTokens);
    }
    this.maxDepth = maxDepth;
    this.maxTokens = maxTokens;
    this.factory =
        builder(StreamReadConstraints.builder().maxNestingDepth(maxDepth).build()).build();
    this.clientFactory =
        builder(
                StreamReadConstraints.builder()
                    .maxNestingDepth(maxDepth)
                    .maxTokenCount(maxTokens)
                    .build())
            // Jackson's field-name symbol table costs 10-40 us per new name once it holds tens of
            // thousands (a 4 MB frame of distinct names took 1-4 s to parse, 0.1 s without it),
            // and client frames choose their names: a new String per name is cheaper.
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();
  }

  private static JsonFactoryBuilder builder(StreamReadConstraints constraints) {
    return new JsonFactoryBuilder()
        .streamReadConstraints(constraints)
        // Field names come from untrusted peers: do not grow the JVM's string table.
        .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
        .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
        .disable(StreamWriteFeature.AUTO_CLOSE_TARGET);
  }

  /** The nesting limit this codec enforces. */
  public int maxDepth() {
    return maxDepth;
  }

  /** The most JSON tokens this codec reads from one client frame. */
  public long maxTokens() {
    return maxTokens;
  }

  // ---------------------------------------------------------------- decoding: client messages

  /** Decodes a client message from UTF-8 bytes. */
  public ClientMessage decodeClient(byte[] utf8) throws AipDecodeException {
    return decodeClient(utf8, 0, utf8.length);
  }

  /** Decodes a client message from {@code len} UTF-8 bytes starting at {@code off}. */
  public ClientMessage decodeClient(byte[] utf8, int off, int len) throws AipDecodeException {
    if (!Utf8.isValid(utf8, off, len)) {
      throw new AipDecodeException(Reason.INVALID_UTF8, "frame is not valid UTF-8");
    }
    try (JsonParser p = clientFactory.createParser(utf8, off, len)) {
      return readClient(p);
    } catch (IOException e) {
      throw translate(e);
    }
  }

  /** Decodes a client message from text. */
  public ClientMessage decodeClient(String json) throws AipDecodeException {
    try (JsonParser p = clientFactory.createParser(json)) {
      return readClient(p);
    } catch (IOException e) {
      throw translate(e);
    }
  }

  private ClientMessage readClient(JsonParser p) throws IOException, AipDecodeException {
    startObject(p);
    ClientMessageType type = null;
    TaskStatus status = null;
    ClientType clientType = null;
    String sessionId = null;
    String taskName = null;
    String clientId = null;
    String targetId = null;
    String request = null;
    List<Result> actionResults = null;
    String timestamp = null;
    String requestId = null;
    String prevResponseId = null;
    String error = null;
    Map<String, Object> metadata = null;
    Object result = null;
    String name;
    while ((name = p.nextFieldName()) != null) {
      p.nextToken();
      switch (name) {
        case "type":
          type = enumValue(p, name, ClientMessageType.fromWire(stringOrNull(p, name)));
          break;
        case "status":
          status = enumValue(p, name, TaskStatus.fromWire(stringOrNull(p, name)));
          break;
        case "client_type":
          clientType = enumValue(p, name, ClientType.fromWire(stringOrNull(p, name)));
          break;
        case "session_id":
          sessionId = stringOrNull(p, name);
          break;
        case "task_name":
          taskName = stringOrNull(p, name);
          break;
        case "client_id":
          clientId = stringOrNull(p, name);
          break;
        case "target_id":
          targetId = stringOrNull(p, name);
          break;
        case "request":
          request = stringOrNull(p, name);
          break;
        case "action_results":
          actionResults = results(p);
          break;
        case "timestamp":
          timestamp = stringOrNull(p, name);
          break;
        case "request_id":
          requestId = stringOrNull(p, name);
          break;
        case "prev_response_id":
          prevResponseId = stringOrNull(p, name);
          break;
        case "error":
          error = stringOrNull(p, name);
          break;
        case "metadata":
          metadata = objectOrNull(p, name);
          break;
        case "result":
          result = JsonValues.read(p);
          break;
        default:
          p.skipChildren();
      }
    }
    endDocument(p);
    require(type, "type");
    require(status, "status");
    return new ClientMessage(
        type,
        status,
        clientType,
        sessionId,
        taskName,
        clientId,
        targetId,
        request,
        actionResults,
        timestamp,
        requestId,
        prevResponseId,
        error,
        metadata,
        result);
  }

  private List<Result> results(JsonParser p) throws IOException, AipDecodeException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    if (t != JsonToken.START_ARRAY) {
      throw wrongType("action_results", "an array", t);
    }
    List<Result> list = new ArrayList<>();
    int index = 0;
    while (p.nextToken() != JsonToken.END_ARRAY) {
      String where = "action_results[" + index++ + "]";
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw wrongType(where, "an object", p.currentToken());
      }
      list.add(result(p, where));
    }
    return list;
  }

  private Result result(JsonParser p, String where) throws IOException, AipDecodeException {
    ResultStatus status = null;
    String error = null;
    Object value = null;
    String namespace = null;
    String callId = null;
    String name;
    while ((name = p.nextFieldName()) != null) {
      p.nextToken();
      String field = where + "." + name;
      switch (name) {
        case "status":
          status = enumValue(p, field, ResultStatus.fromWire(stringOrNull(p, field)));
          break;
        case "error":
          error = stringOrNull(p, field);
          break;
        case "result":
          value = JsonValues.read(p);
          break;
        case "namespace":
          namespace = stringOrNull(p, field);
          break;
        case "call_id":
          callId = stringOrNull(p, field);
          break;
        default:
          p.skipChildren();
      }
    }
    require(status, where + ".status");
    return new Result(status, error, value, namespace, callId);
  }

  // ---------------------------------------------------------------- decoding: server messages

  /** Decodes a server message from UTF-8 bytes (clients, tools and tests use this). */
  public ServerMessage decodeServer(byte[] utf8) throws AipDecodeException {
    return decodeServer(utf8, 0, utf8.length);
  }

  /** Decodes a server message from {@code len} UTF-8 bytes starting at {@code off}. */
  public ServerMessage decodeServer(byte[] utf8, int off, int len) throws AipDecodeException {
    if (!Utf8.isValid(utf8, off, len)) {
      throw new AipDecodeException(Reason.INVALID_UTF8, "frame is not valid UTF-8");
    }
    try (JsonParser p = factory.createParser(utf8, off, len)) {
      return readServer(p);
    } catch (IOException e) {
      throw translate(e);
    }
  }

  /** Decodes a server message from text. */
  public ServerMessage decodeServer(String json) throws AipDecodeException {
    try (JsonParser p = factory.createParser(json)) {
      return readServer(p);
    } catch (IOException e) {
      throw translate(e);
    }
  }

  private ServerMessage readServer(JsonParser p) throws IOException, AipDecodeException {
    startObject(p);
    ServerMessageType type = null;
    TaskStatus status = null;
    String userRequest = null;
    String agentName = null;
    String processName = null;
    String rootName = null;
    List<Command> actions = null;
    List<String> messages = null;
    String error = null;
    String sessionId = null;
    String taskName = null;
    String timestamp = null;
    String responseId = null;
    Object result = null;
    String name;
    while ((name = p.nextFieldName()) != null) {
      p.nextToken();
      switch (name) {
        case "type":
          type = enumValue(p, name, ServerMessageType.fromWire(stringOrNull(p, name)));
          break;
        case "status":
          status = enumValue(p, name, TaskStatus.fromWire(stringOrNull(p, name)));
          break;
        case "user_request":
          userRequest = stringOrNull(p, name);
          break;
        case "agent_name":
          agentName = stringOrNull(p, name);
          break;
        case "process_name":
          processName = stringOrNull(p, name);
          break;
        case "root_name":
          rootName = stringOrNull(p, name);
          break;
        case "actions":
          actions = commands(p);
          break;
        case "messages":
          messages = strings(p, name);
          break;
        case "error":
          error = stringOrNull(p, name);
          break;
        case "session_id":
          sessionId = stringOrNull(p, name);
          break;
        case "task_name":
          taskName = stringOrNull(p, name);
          break;
        case "timestamp":
          timestamp = stringOrNull(p, name);
          break;
        case "response_id":
          responseId = stringOrNull(p, name);
          break;
        case "result":
          result = JsonValues.read(p);
          break;
        default:
          p.skipChildren();
      }
    }
    endDocument(p);
    require(type, "type");
    require(status, "status");
    return new ServerMessage(
        type,
        status,
        userRequest,
        agentName,
        processName,
        rootName,
        actions,
        messages,
        error,
        sessionId,
        taskName,
        timestamp,
        responseId,
        result);
  }

  private List<Command> commands(JsonParser p) throws IOException, AipDecodeException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    if (t != JsonToken.START_ARRAY) {
      throw wrongType("actions", "an array", t);
    }
    List<Command> list = new ArrayList<>();
    int index = 0;
    while (p.nextToken() != JsonToken.END_ARRAY) {
      String where = "actions[" + index++ + "]";
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw wrongType(where, "an object", p.currentToken());
      }
      String toolName = null;
      Map<String, Object> parameters = null;
      ToolType toolType = null;
      String callId = null;
      String name;
      while ((name = p.nextFieldName()) != null) {
        p.nextToken();
        String field = where + "." + name;
        switch (name) {
          case "tool_name":
            toolName = stringOrNull(p, field);
            break;
          case "parameters":
            parameters = objectOrNull(p, field);
            break;
          case "tool_type":
            toolType = enumValue(p, field, ToolType.fromWire(stringOrNull(p, field)));
            break;
          case "call_id":
            callId = stringOrNull(p, field);
            break;
          default:
            p.skipChildren();
        }
      }
      require(toolName, where + ".tool_name");
      require(toolType, where + ".tool_type");
      list.add(new Command(toolName, parameters, toolType, callId));
    }
    return list;
  }

  private static List<String> strings(JsonParser p, String field)
      throws IOException, AipDecodeException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    if (t != JsonToken.START_ARRAY) {
      throw wrongType(field, "an array of strings", t);
    }
    List<String> list = new ArrayList<>();
    int index = 0;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.VALUE_STRING) {
        throw wrongType(field + "[" + index + "]", "a string", t);
      }
      list.add(p.getText());
      index++;
    }
    return list;
  }

  // ---------------------------------------------------------------- decoding helpers

  private static void startObject(JsonParser p) throws IOException, AipDecodeException {
    JsonToken t = p.nextToken();
    if (t == null) {
      throw new AipDecodeException(Reason.EMPTY, "empty frame: expected a JSON object");
    }
    if (t != JsonToken.START_OBJECT) {
      throw new AipDecodeException(
          Reason.NOT_AN_OBJECT, "frame must be a JSON object, got " + describe(t));
    }
  }

  private static void endDocument(JsonParser p) throws IOException, AipDecodeException {
    if (p.nextToken() != null) {
      throw new AipDecodeException(Reason.TRAILING_DATA, "unexpected data after the JSON object");
    }
  }

  private static String stringOrNull(JsonParser p, String field)
      throws IOException, AipDecodeException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_STRING) {
      return p.getText();
    }
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    throw wrongType(field, "a string", t);
  }

  private static Map<String, Object> objectOrNull(JsonParser p, String field)
      throws IOException, AipDecodeException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.START_OBJECT) {
      return JsonValues.readObject(p);
    }
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    throw wrongType(field, "an object", t);
  }

  /** {@code value} is the enum constant for the current string token, or null if none matched. */
  private static <E extends Enum<E>> E enumValue(JsonParser p, String field, E value)
      throws IOException, AipDecodeException {
    if (value == null && p.currentToken() == JsonToken.VALUE_STRING) {
      throw new AipDecodeException(
          Reason.UNKNOWN_ENUM, "field '" + field + "' has unknown value " + quote(p.getText()));
    }
    return value;
  }

  private static void require(Object value, String field) throws AipDecodeException {
    if (value == null) {
      throw new AipDecodeException(Reason.MISSING_FIELD, "missing required field '" + field + "'");
    }
  }

  private static AipDecodeException wrongType(String field, String expected, JsonToken got) {
    return new AipDecodeException(
        Reason.WRONG_TYPE,
        "field '" + field + "' must be " + expected + " or null, got " + describe(got));
  }

  private AipDecodeException translate(IOException e) {
    if (e instanceof StreamConstraintsException) {
      String m = String.valueOf(e.getMessage());
      if (m.contains("nesting depth")) {
        return new AipDecodeException(
            Reason.TOO_DEEP, "JSON nested deeper than " + maxDepth + " levels");
      }
      if (m.startsWith("Token count")) {
        return new AipDecodeException(
            Reason.TOO_MANY_TOKENS,
            "frame has more than " + maxTokens + " JSON tokens (max_json_tokens)");
      }
      if (m.contains("exponent out of range")) {
        return new AipDecodeException(Reason.TOO_LARGE, "JSON number out of range");
      }
      return new AipDecodeException(
          Reason.TOO_LARGE, "JSON string, number or name longer than the parser allows");
    }
    if (e instanceof JsonProcessingException) {
      JsonLocation loc = ((JsonProcessingException) e).getLocation();
      String where =
          loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
      return new AipDecodeException(Reason.MALFORMED_JSON, "malformed JSON" + where);
    }
    return new AipDecodeException(Reason.MALFORMED_JSON, "unreadable frame");
  }

  private static String describe(JsonToken t) {
    if (t == null) {
      return "end of input";
    }
    switch (t) {
      case START_OBJECT:
        return "an object";
      case START_ARRAY:
        return "an array";
      case VALUE_STRING:
        return "a string";
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "a number";
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "a boolean";
      case VALUE_NULL:
        return "null";
      default:
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Quotes client text for an error message: at most {@value #MAX_QUOTED} characters, control and
   * non-ASCII characters escaped, so nothing the client sent can forge log lines or bloat replies.
   */
  static String quote(String s) {
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_QUOTED) + 8).append('\'');
    int n = Math.min(s.length(), MAX_QUOTED);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    out.append('\'');
    if (s.length() > MAX_QUOTED) {
      out.append("...");
    }
    return out.toString();
  }

  // ---------------------------------------------------------------- encoding

  /** Encodes a server message as compact UTF-8 JSON. */
  public byte[] encode(ServerMessage m) {
    ByteArrayBuilder out = new ByteArrayBuilder(256);
    encode(m, out);
    return out.toByteArray();
  }

  /** Encodes a server message as a JSON string. */
  public String encodeToString(ServerMessage m) {
    return new String(encode(m), StandardCharsets.UTF_8);
  }

  /**
   * Writes a server message as compact UTF-8 JSON to {@code out} (not closed).
   *
   * @throws UncheckedIOException if {@code out} fails
   */
  public void encode(ServerMessage m, OutputStream out) {
    try (JsonGenerator g = factory.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeStringField("type", m.type().wire());
      g.writeStringField("status", m.status().wire());
      optional(g, "user_request", m.userRequest());
      optional(g, "agent_name", m.agentName());
      optional(g, "process_name", m.processName());
      optional(g, "root_name", m.rootName());
      if (m.actions() != null) {
        g.writeArrayFieldStart("actions");
        for (Command c : m.actions()) {
          g.writeStartObject();
          g.writeStringField("tool_name", c.toolName());
          if (c.parameters() != null) {
            g.writeFieldName("parameters");
            JsonValues.write(g, c.parameters());
          }
          g.writeStringField("tool_type", c.toolType().wire());
          optional(g, "call_id", c.callId());
          g.writeEndObject();
        }
        g.writeEndArray();
      }
      if (m.messages() != null) {
        g.writeArrayFieldStart("messages");
        for (String s : m.messages()) {
          g.writeString(s);
        }
        g.writeEndArray();
      }
      optional(g, "error", m.error());
      optional(g, "session_id", m.sessionId());
      optional(g, "task_name", m.taskName());
      optional(g, "timestamp", m.timestamp());
      optional(g, "response_id", m.responseId());
      if (m.result() != null) {
        g.writeFieldName("result");
        JsonValues.write(g, m.result());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Encodes a client message as compact UTF-8 JSON (for clients, tools and tests). */
  public byte[] encode(ClientMessage m) {
    ByteArrayBuilder out = new ByteArrayBuilder(256);
    encode(m, out);
    return out.toByteArray();
  }

  /** Encodes a client message as a JSON string. */
  public String encodeToString(ClientMessage m) {
    return new String(encode(m), StandardCharsets.UTF_8);
  }

  /**
   * Writes a client message as compact UTF-8 JSON to {@code out} (not closed).
   *
   * @throws UncheckedIOException if {@code out} fails
   */
  public void encode(ClientMessage m, OutputStream out) {
    try (JsonGenerator g = factory.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeStringField("type", m.type().wire());
      g.writeStringField("status", m.status().wire());
      g.writeStringField("client_type", m.clientType().wire());
      optional(g, "session_id", m.sessionId());
      optional(g, "task_name", m.taskName());
      optional(g, "client_id", m.clientId());
      optional(g, "target_id", m.targetId());
      optional(g, "request", m.request());
      if (m.actionResults() != null) {
        g.writeArrayFieldStart("action_results");
        for (Result r : m.actionResults()) {
          g.writeStartObject();
          g.writeStringField("status", r.status().wire());
          optional(g, "error", r.error());
          if (r.result() != null) {
            g.writeFieldName("result");
            JsonValues.write(g, r.result());
          }
          optional(g, "namespace", r.namespace());
          optional(g, "call_id", r.callId());
          g.writeEndObject();
        }
        g.writeEndArray();
      }
      optional(g, "timestamp", m.timestamp());
      optional(g, "request_id", m.requestId());
      optional(g, "prev_response_id", m.prevResponseId());
      optional(g, "error", m.error());
      if (m.metadata() != null) {
        g.writeFieldName("metadata");
        JsonValues.write(g, m.metadata());
      }
      if (m.result() != null) {
        g.writeFieldName("result");
        JsonValues.write(g, m.result());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void optional(JsonGenerator g, String field, String value) throws IOException {
    if (value != null) {
      g.writeStringField(field, value);
    }
  }
}
