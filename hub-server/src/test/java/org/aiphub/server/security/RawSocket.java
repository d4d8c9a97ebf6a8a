package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;

/**
 * An attacker's plain socket: writes whatever bytes a test wants (hand-made HTTP requests with any
 * header, upgrades with any {@code Host} or {@code Origin}, WebSocket frames in batches or with a
 * lying length), from any loopback source address, and reads HTTP answers and WebSocket frames the
 * way they come. Not thread-safe, except that one thread may read while another writes.
 */
final class RawSocket implements AutoCloseable {
  static final int READ_TIMEOUT_MILLIS = 15_000;

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  /**
   * One HTTP answer.
   *
   * @param status the status code
   * @param head the status line and headers exactly as received
   * @param headers header names (lower case) to values (repeated headers joined with a comma)
   * @param body the body, as text
   */
  record Reply(int status, String head, Map<String, String> headers, String body) {
    /** The {@code error} text of a JSON error answer, checking status and shape. */
    String error(int expectedStatus) {
      assertThat(status).as("status of %s", this).isEqualTo(expectedStatus);
      assertThat(headers.get("content-type")).as("type of %s", this).startsWith("application/json");
      Map<String, Object> m = HubHttp.object(body);
      assertThat(m).as("error body of %s", this).containsOnlyKeys("error");
      assertThat(m.get("error")).as("error of %s", this).isInstanceOf(String.class);
      return (String) m.get("error");
    }

    @Override
    public String toString() {
      return head.replace("\r\n", " | ") + " " + body;
    }
  }

  private RawSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 65536));
    this.out = socket.getOutputStream();
  }

  /** Connects to the hub from 127.0.0.1. */
  static RawSocket open(TestHub hub) {
    return open(hub, null);
  }

  /**
   * Connects to the hub from {@code source} (any 127.x.y.z address works on Linux: the whole block
   * is loopback), or from the default address when null.
   */
  static RawSocket open(TestHub hub, String source) {
    return open(hub, source, 0);
  }

  /**
   * Connects from {@code source} (null: the default address) with a receive buffer of {@code
   * receiveBufferBytes} (0: the default), set before connecting so the TCP window stays small.
   */
  static RawSocket open(TestHub hub, String source, int receiveBufferBytes) {
    return open(hub.port(), source, receiveBufferBytes);
  }

  /**
   * Connects to a hub listening on loopback {@code port} (one in a process of its own, say), as
   * {@link #open(TestHub, String, int)} does.
   */
  static RawSocket open(int port, String source, int receiveBufferBytes) {
    Socket s = new Socket();
    try {
      if (receiveBufferBytes > 0) {
        s.setReceiveBufferSize(receiveBufferBytes);
      }
      if (source != null) {
        s.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
      }
      s.connect(new InetSocketAddress("127.0.0.1", port), READ_TIMEOUT_MILLIS);
      s.setSoTimeout(READ_TIMEOUT_MILLIS);
      s.setTcpNoDelay(true);
      return new RawSocket(s);
    } catch (IOException e) {
      try {
        s.close();
      } catch (IOException ignored) {
        // already failing
      }
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------------------------- writing

  /** Writes bytes as they are. */
  RawSocket write(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** Writes text as ISO-8859-1 bytes (HTTP heads). */
  RawSocket write(String latin1) {
    return write(latin1.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Writes bytes, reporting instead of throwing when the hub already closed the connection. */
  boolean tryWrite(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** A GET request head for {@code target} with the given extra header lines ("Name: value"). */
  static String get(String target, String... headerLines) {
    StringBuilder b = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\n");
    for (String h : headerLines) {
      b.append(h).append("\r\n");
    }
    return b.append("\r\n").toString();
  }

  /**
   * A WebSocket upgrade request for {@code target} (path and query) with a fresh key and the given
   * extra header lines (a {@code Host} among them, or none).
   */
  static String upgrade(String target, String... headerLines) {
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    String[] all = new String[headerLines.length + 4];
    System.arraycopy(headerLines, 0, all, 0, headerLines.length);
    all[headerLines.length] = "Upgrade: websocket";
    all[headerLines.length + 1] = "Connection: Upgrade";
    all[headerLines.length + 2] = "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce);
    all[headerLines.length + 3] = "Sec-WebSocket-Version: 13";
    return get(target, all);
  }

  /** The hub's own {@code Host} header line. */
  static String host(TestHub hub) {
    return host(hub.port());
  }

  /** The {@code Host} header line of a hub on loopback {@code port}. */
  static String host(int port) {
    return "Host: 127.0.0.1:" + port;
  }

  /** The AIP endpoint with the right key. */
  static String wsTarget() {
    return "/ws?token=" + TestHub.KEY;
  }

  /** One masked client frame. */
  static byte[] frame(int opcode, boolean fin, byte[] payload) {
    return frame(opcode, fin, payload, payload.length);
  }

  /**
   * One masked client frame whose header announces {@code declaredLength} bytes of payload (a lie
   * when it differs from the payload's length).
   */
  static byte[] frame(int opcode, boolean fin, byte[] payload, long declaredLength) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 14);
    b.write((fin ? 0x80 : 0) | opcode);
    if (declaredLength < 126) {
      b.write(0x80 | (int) declaredLength);
    } else if (declaredLength < 65536) {
      b.write(0x80 | 126);
      b.write((int) (declaredLength >>> 8));
      b.write((int) declaredLength);
    } else {
      b.write(0x80 | 127);
      for (int shift = 56; shift >= 0; shift -= 8) {
        b.write((int) (declaredLength >>> shift));
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    b.write(mask, 0, 4);
    for (int i = 0; i < payload.length; i++) {
      b.write(payload[i] ^ mask[i & 3]);
    }
    return b.toByteArray();
  }

  /** One masked text frame holding {@code text} as UTF-8. */
  static byte[] text(String text) {
    return frame(RawWsClient.TEXT, true, text.getBytes(StandardCharsets.UTF_8));
  }

  // ---------------------------------------------------------------------------------- reading

  /** Reads one HTTP response (the body by its Content-Length; none for 1xx). */
  Reply readReply() {
    return readReply(true);
  }

  /**
   * Reads the head of the answer to a {@code HEAD} request: whatever its Content-Length says, no
   * body follows (RFC 9110 9.3.2).
   */
  Reply readHeadReply() {
    return readReply(false);
  }

  private Reply readReply(boolean withBody) {
    try {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int matched = 0;
      byte[] end = {'\r', '\n', '\r', '\n'};
      while (matched < 4) {
        int b = in.read();
        if (b < 0) {
          throw new EOFException("connection closed inside a response head: " + head);
        }
        head.write(b);
        matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
      }
      String text = head.toString(StandardCharsets.ISO_8859_1);
      String[] lines = text.split("\r\n");
      String[] statusLine = lines[0].split(" ", 3);
      assertThat(statusLine[0]).as("status line %s", lines[0]).startsWith("HTTP/1.");
      int status = Integer.parseInt(statusLine[1]);
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        assertThat(colon).as("header line %s", lines[i]).isPositive();
        headers.merge(
            lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
            lines[i].substring(colon + 1).trim(),
            (a, b) -> a + "," + b);
      }
      byte[] body = new byte[0];
      if (status >= 200 && withBody) {
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        body = new byte[length];
        in.readFully(body);
      }
      return new Reply(status, text, headers, new String(body, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next WebSocket frame from the hub, or null at the end of the stream (or a reset). */
  RawWsClient.Frame readFrame() {
    try {
      int b0;
      try {
        b0 = in.read();
      } catch (SocketException e) {
        return null; // reset
      }
      if (b0 < 0) {
        return null;
      }
      int b1 = in.readUnsignedByte();
      long len = b1 & 0x7f;
      if (len == 126) {
        len = in.readUnsignedShort();
      } else if (len == 127) {
        len = in.readLong();
      }
      assertThat(b1 & 0x80).as("the hub masks no frame").isZero();
      assertThat(len).as("frame length").isLessThan(Integer.MAX_VALUE);
      byte[] payload = new byte[(int) len];
      in.readFully(payload);
      return new RawWsClient.Frame(b0 & 0x0f, (b0 & 0x80) != 0, payload);
    } catch (EOFException e) {
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Whether the hub closed the connection: reads (and drops) whatever still comes until the end of
   * the stream or a reset; false when the stream stays open for the read timeout.
   */
  boolean closedByHub() {
    byte[] sink = new byte[8192];
    try {
      while (true) {
        if (in.read(sink) < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  /** Everything that comes until the hub closes (or resets) the connection. */
  byte[] readToEnd() {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] sink = new byte[8192];
    try {
      for (int n; (n = in.read(sink)) >= 0; ) {
        all.write(sink, 0, n);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the hub kept the connection open; got " + all, e);
    } catch (IOException e) {
      // reset: what came before it is all there is
    }
    return all.toByteArray();
  }

  /** The raw input, for tests that parse by themselves. */
  InputStream input() {
    return in;
  }

  /** Sets the read timeout. */
  RawSocket timeout(int millis) {
    try {
      socket.setSoTimeout(millis);
    } catch (SocketException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** The local port, to find this connection among the hub's channels. */
  int localPort() {
    return socket.getLocalPort();
  }

  /** Drops the connection with a reset. */
  void abort() {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      // already gone
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // already gone
    }
  }
}
