package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ServerMessage;

/**
 * Reads the bytes the hub writes to one socket as a strict client would: HTTP/1.1 responses until a
 * {@code 101}, then RFC 6455 server frames, and nothing at all after a {@code Connection: close}
 * response or a close frame. Anything malformed fails the test:
 *
 * <ul>
 *   <li>a response: an {@code HTTP/1.1} status line, token header names, printable ASCII header
 *       values, a body of exactly its {@code Content-Length} (required but for 1xx, 204 and 304),
 *       no chunking; a {@code 101} names the WebSocket upgrade and carries a well-formed accept
 *       key;
 *   <li>a frame: unmasked, no RSV bits, a defined opcode, the minimal length encoding, whole (the
 *       hub never fragments); control frames at most 125 bytes; no binary frames (AIP answers in
 *       text);
 *   <li>a text frame: valid UTF-8 holding one JSON object with string {@code type} and {@code
 *       status} that decodes as an AIP server message;
 *   <li>a close frame: empty, or a close code RFC 6455 allows on the wire and a UTF-8 reason.
 * </ul>
 */
final class HubOutputReader {
  static final int CONTINUATION = 0x0;
  static final int TEXT = 0x1;
  static final int BINARY = 0x2;
  static final int CLOSE = 0x8;
  static final int PING = 0x9;
  static final int PONG = 0xA;

  private static final AipCodec CODEC = new AipCodec();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.1 ([1-5][0-9][0-9]) (.*)");
  private static final Pattern HEADER =
      Pattern.compile("([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \\t]*(.*?)[ \\t]*");
  private static final Pattern ACCEPT = Pattern.compile("[A-Za-z0-9+/]{27}=");
  private static final int MAX_HEAD = 64 * 1024;

  /** Where the conversation is. */
  enum Phase {
    HTTP,
    /** Reading the body of a response without a length, which the end of the connection ends. */
    CLOSE_DELIMITED,
    WEBSOCKET,
    ENDED
  }

  /** Something the hub sent. */
  sealed interface Event permits Response, Frame {}

  /**
   * One HTTP response.
   *
   * @param headers lower-case names, each with its values in order
   * @param body the body, or its first bytes when {@code closeDelimited}
   * @param closeDelimited whether it has no length, so the end of the connection ends its body
   */
  record Response(
      int status, Map<String, List<String>> headers, byte[] body, boolean closeDelimited)
      implements Event {
    String header(String name) {
      List<String> v = headers.get(name);
      return v == null ? null : v.get(0);
    }

    /** Whether a {@code Connection} header holds the token (case-insensitive). */
    boolean connectionHas(String token) {
      for (String v : headers.getOrDefault("connection", List.of())) {
        for (String t : v.split(",")) {
          if (t.trim().equalsIgnoreCase(token)) {
            return true;
          }
        }
      }
      return false;
    }

    @Override
    public String toString() {
      return "HTTP " + status + " " + new String(body, StandardCharsets.UTF_8);
    }
  }

  /** One whole frame; {@code message} is the decoded AIP message of a text frame. */
  record Frame(int opcode, byte[] payload, ServerMessage message) implements Event {
    /** The close code, or -1 for a close frame without one. */
    int closeCode() {
      return payload.length < 2 ? -1 : ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
    }

    String closeReason() {
      return payload.length <= 2
          ? ""
          : new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      switch (opcode) {
        case TEXT:
          return "TEXT " + new String(payload, StandardCharsets.UTF_8);
        case CLOSE:
          return "CLOSE " + closeCode() + " " + closeReason();
        case PING:
          return "PING " + payload.length + "B";
        case PONG:
          return "PONG " + payload.length + "B";
        default:
          return "opcode " + opcode + " " + payload.length + "B";
      }
    }
  }

  private byte[] buf = new byte[512];
  private int len;

  /** Responses still to come that answer a HEAD request: a head only, whatever its length says. */
  private int headAnswers;

  private Phase phase = Phase.HTTP;
  private String endedBy;

  Phase phase() {
    return phase;
  }

  /**
   * The next response answers a HEAD request (RFC 9110 9.3.2): its Content-Length is the body a GET
   * would have had, and no body follows.
   */
  void nextAnswersHead() {
    headAnswers++;
  }

  /** Bytes of an event not complete yet. */
  int pending() {
    return len;
  }

  /** Takes the next bytes the hub wrote and returns the events they complete. */
  List<Event> read(byte[] bytes) {
    if (phase == Phase.CLOSE_DELIMITED) {
      return List.of(); // more of that body
    }
    if (phase == Phase.ENDED && bytes.length > 0) {
      fail("the hub wrote %d more bytes after %s", bytes.length, endedBy);
    }
    if (len + bytes.length > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
    }
    System.arraycopy(bytes, 0, buf, len, bytes.length);
    len += bytes.length;
    List<Event> events = new ArrayList<>();
    for (Event e; (e = next()) != null; ) {
      events.add(e);
      if (phase == Phase.ENDED && len > 0) {
        fail("the hub wrote %d more bytes after %s", len, endedBy);
      }
    }
    return events;
  }

  private Event next() {
    switch (phase) {
      case HTTP:
        return response();
      case WEBSOCKET:
        return frame();
      default:
        return null;
    }
  }

  // ------------------------------------------------------------------------------------- HTTP

  private Response response() {
    int end = indexOf(buf, len, new byte[] {'\r', '\n', '\r', '\n'});
    if (end < 0) {
      if (len > MAX_HEAD) {
        fail("an HTTP response head longer than %d bytes", MAX_HEAD);
      }
      return null;
    }
    String[] lines = ascii(0, end).split("\r\n", -1);
    for (String line : lines) {
      for (int i = 0; i < line.length(); i++) {
        char c = line.charAt(i);
        if (c < 0x20 && c != '\t' || c >= 0x7f) {
          fail("byte 0x%02x in an HTTP response head: %s", (int) c, ascii(0, end));
        }
      }
    }
    Matcher status = STATUS_LINE.matcher(lines[0]);
    if (!status.matches()) {
      fail("not an HTTP/1.1 status line: %s", lines[0]);
    }
    int code = Integer.parseInt(status.group(1));
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      Matcher h = HEADER.matcher(lines[i]);
      if (!h.matches()) {
        fail("not a header line: '%s' in %s", lines[i], ascii(0, end));
      }
      headers
          .computeIfAbsent(h.group(1).toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(h.group(2));
    }
    if (headers.containsKey("transfer-encoding")) {
      fail("the hub chunked a response: %s", ascii(0, end));
    }
    List<String> lengths = headers.get("content-length");
    boolean bodiless = code < 200 || code == 204 || code == 304;
    int bodyLength = 0;
    if (lengths != null) {
      if (lengths.size() != 1 || !lengths.get(0).matches("[0-9]{1,9}")) {
        fail("bad Content-Length %s in %s", lengths, ascii(0, end));
      }
      bodyLength = Integer.parseInt(lengths.get(0));
      if (bodiless && bodyLength != 0) {
        fail("a %d response with a body: %s", code, ascii(0, end));
      }
    }
    if (headAnswers > 0) {
      headAnswers--;
      bodiless = true;
      bodyLength = 0;
      if (code >= 400 && lengths == null) {
        fail("a %d answer to HEAD without the length of its error: %s", code, ascii(0, end));
      }
    }
    boolean closeDelimited = lengths == null && !bodiless;
    if (closeDelimited) {
      bodyLength = len - end - 4;
    }
    if (len < end + 4 + bodyLength) {
      return null;
    }
    byte[] body = Arrays.copyOfRange(buf, end + 4, end + 4 + bodyLength);
    consume(end + 4 + bodyLength);
    Response r = new Response(code, headers, body, closeDelimited);
    if (closeDelimited) {
      phase = Phase.CLOSE_DELIMITED;
      return r;
    }
    if (body.length > 0 || !bodiless) {
      checkJsonBody(r);
    }
    if (code == 101) {
      if (!"websocket".equalsIgnoreCase(r.header("upgrade"))
          || !r.connectionHas("upgrade")
          || r.header("sec-websocket-accept") == null
          || !ACCEPT.matcher(r.header("sec-websocket-accept")).matches()) {
        fail("a 101 that is not a WebSocket upgrade: %s", headers);
      }
      phase = Phase.WEBSOCKET;
    } else if (r.connectionHas("close")) {
      phase = Phase.ENDED;
      endedBy = "an HTTP " + code + " with Connection: close";
    }
    return r;
  }

  /** A JSON body must parse, and the hub's JSON errors are objects with an error text. */
  private static void checkJsonBody(Response r) {
    String type = r.header("content-type");
    if (type == null || !type.startsWith("application/json")) {
      return;
    }
    JsonNode body;
    try {
      body = JSON.readTree(r.body());
    } catch (IOException e) {
      throw new AssertionError("HTTP " + r.status() + " with a JSON body that does not parse", e);
    }
    if (body == null) {
      fail("HTTP %d with an empty JSON body", r.status());
    }
    if (r.status() >= 400 && (!body.isObject() || !body.path("error").isTextual())) {
      fail("HTTP %d error body without an error text: %s", r.status(), body);
    }
  }

  // -------------------------------------------------------------------------------- WebSocket

  private Frame frame() {
    if (len < 2) {
      return null;
    }
    int b0 = buf[0] & 0xff;
    int b1 = buf[1] & 0xff;
    boolean fin = (b0 & 0x80) != 0;
    int opcode = b0 & 0x0f;
    if ((b0 & 0x70) != 0) {
      fail("a server frame with RSV bits 0x%02x", b0 & 0x70);
    }
    if ((b1 & 0x80) != 0) {
      fail("a masked server frame (RFC 6455 5.1: a server must not mask)");
    }
    if (opcode != TEXT && opcode != BINARY && opcode != CLOSE && opcode != PING && opcode != PONG) {
      fail("a server frame with opcode 0x%x", opcode);
    }
    if (!fin) {
      fail("a fragmented server frame (opcode 0x%x); the hub sends whole messages", opcode);
    }
    int header = 2;
    long length = b1 & 0x7f;
    if (length == 126) {
      if (len < 4) {
        return null;
      }
      header = 4;
      length = ((buf[2] & 0xff) << 8) | (buf[3] & 0xff);
      if (length < 126) {
        fail("a 16-bit length %d that fits 7 bits", length);
      }
    } else if (length == 127) {
      if (len < 10) {
        return null;
      }
      header = 10;
      length = 0;
      for (int i = 2; i < 10; i++) {
        length = (length << 8) | (buf[i] & 0xff);
      }
      if (length <= 0xffff) {
        fail("a 64-bit length %d that fits 16 bits (or has its top bit set)", length);
      }
    }
    if (opcode >= CLOSE && length > 125) {
      fail("a control frame (opcode 0x%x) of %d bytes", opcode, length);
    }
    if (len < header + length) {
      return null;
    }
    byte[] payload = Arrays.copyOfRange(buf, header, header + (int) length);
    consume(header + (int) length);
    ServerMessage message = null;
    switch (opcode) {
      case TEXT:
        message = message(payload);
        break;
      case BINARY:
        fail("a binary frame from the hub; AIP answers in text frames");
        break;
      case CLOSE:
        checkClose(payload);
        phase = Phase.ENDED;
        endedBy = "its close frame";
        break;
      default:
        break;
    }
    return new Frame(opcode, payload, message);
  }

  private static ServerMessage message(byte[] payload) {
    String text = utf8(payload, "a text frame");
    JsonNode json;
    try {
      json = JSON.readTree(text);
    } catch (IOException e) {
      throw new AssertionError("a text frame that is not JSON: " + text, e);
    }
    if (json == null
        || !json.isObject()
        || !json.path("type").isTextual()
        || !json.path("status").isTextual()) {
      fail("a text frame that is not an AIP object with type and status: %s", text);
    }
    try {
      return CODEC.decodeServer(payload);
    } catch (AipDecodeException e) {
      throw new AssertionError("a text frame that is no AIP server message: " + text, e);
    }
  }

  private static void checkClose(byte[] payload) {
    if (payload.length == 1) {
      fail("a close frame with a 1-byte body");
    }
    if (payload.length >= 2) {
      int code = ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
      if (!wireCloseCode(code)) {
        fail("close code %d is not one RFC 6455 7.4 allows on the wire", code);
      }
      utf8(Arrays.copyOfRange(payload, 2, payload.length), "a close reason");
    }
  }

  /**
   * RFC 6455 7.4: the codes defined for the wire (1000-1003, 1007-1011, and 1012-1014 from the IANA
   * registry) and 3000-4999; never 1004-1006 or 1015, which must not be sent.
   */
  static boolean wireCloseCode(int code) {
    return code >= 1000 && code <= 1003
        || code >= 1007 && code <= 1014
        || code >= 3000 && code <= 4999;
  }

  private static String utf8(byte[] bytes, String what) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new AssertionError(what + " that is not valid UTF-8", e);
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  private void consume(int n) {
    System.arraycopy(buf, n, buf, 0, len - n);
    len -= n;
  }

  private String ascii(int from, int to) {
    return new String(buf, from, to - from, StandardCharsets.ISO_8859_1);
  }

  static int indexOf(byte[] hay, int limit, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= limit; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
