package org.aiphub.server.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ServerMessage;

/**
 * A misbehaving WebSocket client over a plain {@link Socket}: it does the HTTP upgrade by hand and
 * then writes masked frames itself. Unlike {@code java.net.http} it answers nothing on its own: it
 * may never read, never answer a ping, send a close frame and then stop reading, or drop the TCP
 * connection with a reset. Not thread-safe for reads; writes are synchronized.
 */
public final class RawWsClient implements AutoCloseable {
  public static final int CONTINUATION = 0x0;
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  private static final int READ_TIMEOUT_MILLIS = 15_000;
  private static final AipCodec CODEC = new AipCodec();

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  /** One frame from the hub. */
  public record Frame(int opcode, boolean fin, byte[] payload) {
    /** The payload as UTF-8 text. */
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** The payload of a text frame, decoded as an AIP server message. */
    public ServerMessage message() {
      try {
        return CODEC.decodeServer(payload);
      } catch (AipDecodeException e) {
        throw new AssertionError("hub sent an invalid frame: " + text(), e);
      }
    }

    /** The status code of a close frame (1005 when it carries none). */
    public int closeCode() {
      return payload.length < 2 ? 1005 : ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
    }

    /** The reason of a close frame. */
    public String closeReason() {
      return payload.length <= 2
          ? ""
          : new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Frame[opcode=" + opcode + ", fin=" + fin + ", " + payload.length + " bytes]";
    }
  }

  private RawWsClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 8192));
    this.out = socket.getOutputStream();
  }

  /** Connects and upgrades; the URI is the hub's {@code ws://} endpoint with its key. */
  public static RawWsClient connect(URI ws) {
    return connect(ws, 0);
  }

  /**
   * Connects with a small socket receive buffer (when {@code receiveBufferBytes > 0}, set before
   * connecting so the TCP window stays small) and upgrades.
   */
  public static RawWsClient connect(URI ws, int receiveBufferBytes) {
    Socket s = new Socket();
    try {
      if (receiveBufferBytes > 0) {
        s.setReceiveBufferSize(receiveBufferBytes);
      }
      s.connect(new InetSocketAddress(ws.getHost(), ws.getPort()), READ_TIMEOUT_MILLIS);
      s.setSoTimeout(READ_TIMEOUT_MILLIS);
      s.setTcpNoDelay(true);
      RawWsClient c = new RawWsClient(s);
      c.upgrade(ws);
      return c;
    } catch (IOException e) {
      try {
        s.close();
      } catch (IOException ignored) {
        // already failing
      }
      throw new UncheckedIOException("raw upgrade to " + ws + " failed", e);
    }
  }

  private void upgrade(URI ws) throws IOException {
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    String key = Base64.getEncoder().encodeToString(nonce);
    String target = ws.getRawPath() + (ws.getRawQuery() == null ? "" : "?" + ws.getRawQuery());
    String request =
        "GET "
            + target
            + " HTTP/1.1\r\n"
            + "Host: "
            + ws.getHost()
            + ":"
            + ws.getPort()
            + "\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: "
            + key
            + "\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n";
    out.write(request.getBytes(StandardCharsets.US_ASCII));
    out.flush();
    String status = line();
    if (!status.startsWith("HTTP/1.1 101")) {
      throw new IOException("upgrade refused: " + status);
    }
    String accept = null;
    for (String h = line(); !h.isEmpty(); h = line()) {
      int colon = h.indexOf(':');
      if (colon > 0
          && h.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("sec-websocket-accept")) {
        accept = h.substring(colon + 1).trim();
      }
    }
    if (!expectedAccept(key).equals(accept)) {
      throw new IOException("bad Sec-WebSocket-Accept: " + accept);
    }
  }

  private static String expectedAccept(String key) {
    try {
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      return Base64.getEncoder()
          .encodeToString(sha1.digest((key + GUID).getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed during the upgrade");
      }
      if (c == '\n') {
        break;
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  // ---------------------------------------------------------------------------------- writes

  /** Sends one text frame. */
  public RawWsClient sendText(String text) {
    return sendFrame(TEXT, true, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Sends a close frame with a status code (and then does whatever the test wants). */
  public RawWsClient sendClose(int code) {
    return sendFrame(CLOSE, true, new byte[] {(byte) (code >> 8), (byte) code});
  }

  /** Answers a ping. */
  public RawWsClient sendPong(byte[] payload) {
    return sendFrame(PONG, true, payload);
  }

  /** Sends one masked frame, as a client must. */
  public synchronized RawWsClient sendFrame(int opcode, boolean fin, byte[] payload) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 14);
    b.write((fin ? 0x80 : 0) | opcode);
    int n = payload.length;
    if (n < 126) {
      b.write(0x80 | n);
    } else if (n < 65536) {
      b.write(0x80 | 126);
      b.write(n >>> 8);
      b.write(n);
    } else {
      b.write(0x80 | 127);
      long len = n;
      for (int shift = 56; shift >= 0; shift -= 8) {
        b.write((int) (len >>> shift));
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    b.write(mask, 0, 4);
    byte[] masked = new byte[n];
    for (int i = 0; i < n; i++) {
      masked[i] = (byte) (payload[i] ^ mask[i & 3]);
    }
    b.write(masked, 0, n);
    try {
      out.write(b.toByteArray());
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  // ----------------------------------------------------------------------------------- reads

  /** The next frame; fails on end of stream or after the read timeout. */
  public Frame readFrame() {
    try {
      return readOrEof().orElseThrow(() -> new AssertionError("connection closed by the hub"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next text frame, decoded (skipping nothing: anything else fails). */
  public ServerMessage readMessage() {
    Frame f = readFrame();
    if (f.opcode() != TEXT) {
      throw new AssertionError("expected a text frame, got " + f);
    }
    return f.message();
  }

  /**
   * Reads every complete frame up to the end of the stream (or a reset); a frame cut off by the end
   * is dropped. Fails when the stream stays open past the read timeout.
   */
  public List<Frame> readUntilEof() {
    List<Frame> frames = new ArrayList<>();
    try {
      while (true) {
        Optional<Frame> f = readOrEof();
        if (f.isEmpty()) {
          return frames;
        }
        frames.add(f.get());
      }
    } catch (EOFException | SocketException e) {
      return frames; // cut off mid-frame, or reset
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Optional<Frame> readOrEof() throws IOException {
    int b0;
    try {
      b0 = in.read();
    } catch (SocketException e) {
      if (socket.isClosed()) {
        throw e;
      }
      return Optional.empty(); // reset by the hub
    }
    if (b0 < 0) {
      return Optional.empty();
    }
    int b1 = in.readUnsignedByte();
    long len = b1 & 0x7f;
    if (len == 126) {
      len = in.readUnsignedShort();
    } else if (len == 127) {
      len = in.readLong();
    }
    byte[] mask = null;
    if ((b1 & 0x80) != 0) {
      mask = new byte[4];
      in.readFully(mask);
    }
    if (len > Integer.MAX_VALUE - 8) {
      throw new IOException("frame too long: " + len);
    }
    byte[] payload = new byte[(int) len];
    in.readFully(payload);
    if (mask != null) {
      for (int i = 0; i < payload.length; i++) {
        payload[i] ^= mask[i & 3];
      }
    }
    return Optional.of(new Frame(b0 & 0x0f, (b0 & 0x80) != 0, payload));
  }

  // ---------------------------------------------------------------------------------- closing

  /** Drops the connection with a TCP reset, no close handshake. */
  public void abort() {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Closes the socket (no close handshake). */
  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
