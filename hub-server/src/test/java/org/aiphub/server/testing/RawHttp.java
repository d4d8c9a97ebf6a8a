package org.aiphub.server.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 by hand over a plain socket, for what {@code java.net.http} cannot do: JDK 17's client
 * waits forever when it sent {@code Expect: 100-continue} and the server answers with a final
 * status instead of 100. Here the test sees every response, interim ones included.
 */
public final class RawHttp {
  private RawHttp() {}

  /**
   * One response.
   *
   * @param status the status code
   * @param headers header names (lower case) to values
   * @param body the body as text
   */
  public record Response(int status, Map<String, String> headers, String body) {}

  /**
   * What came back for one request.
   *
   * @param interim the 1xx responses, in order
   * @param last the final response
   * @param bodySent whether the body was written (with {@code Expect}, only after a 100)
   */
  public record Exchange(List<Response> interim, Response last, boolean bodySent) {}

  /**
   * POSTs {@code body} to {@code path} with the test key. With {@code expectContinue} the headers
   * go first with {@code Expect: 100-continue} and the body only follows a 100 response.
   */
  public static Exchange post(int port, String path, byte[] body, boolean expectContinue)
      throws IOException {
    return post(port, path, body, expectContinue ? "100-continue" : null);
  }

  /**
   * POSTs {@code body} with the test key and an {@code Expect} header (none when null); with one,
   * the body only follows a 100 response.
   */
  public static Exchange post(int port, String path, byte[] body, String expect)
      throws IOException {
    boolean expectContinue = expect != null;
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      String head =
          "POST "
              + path
              + " HTTP/1.1\r\n"
              + "Host: 127.0.0.1:"
              + port
              + "\r\n"
              + "X-API-Key: "
              + TestHub.KEY
              + "\r\n"
              + "Content-Type: application/json\r\n"
              + "Content-Length: "
              + body.length
              + "\r\n"
              + (expectContinue ? "Expect: " + expect + "\r\n" : "")
              + "\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      List<Response> interim = new ArrayList<>();
      boolean sent = false;
      if (!expectContinue) {
        sent = writeQuietly(out, body);
      }
      while (true) {
        Response r = read(in);
        if (r.status() >= 200) {
          return new Exchange(interim, r, sent);
        }
        interim.add(r);
        if (r.status() == 100 && !sent) {
          sent = writeQuietly(out, body);
        }
      }
    }
  }

  /** Writes the body; a server that already answered and closed may reset the connection. */
  private static boolean writeQuietly(OutputStream out, byte[] body) {
    try {
      out.write(body);
      out.flush();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static Response read(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed inside a response head: " + head);
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    String[] statusLine = lines[0].split(" ", 3);
    if (!statusLine[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP response: " + lines[0]);
    }
    int status = Integer.parseInt(statusLine[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(
          lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
          lines[i].substring(colon + 1).trim());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    byte[] body = in.readNBytes(length);
    if (body.length != length) {
      throw new IOException("body cut short: " + body.length + " of " + length + " bytes");
    }
    return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
  }
}
