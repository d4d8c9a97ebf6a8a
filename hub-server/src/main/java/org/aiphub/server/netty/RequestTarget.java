package org.aiphub.server.netty;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Map;

/**
 * What an HTTP request asks for: the one answer to "is this a request for the AIP endpoint", which
 * every check asks (the handshake guard and its key, Host and Origin checks, the handshaker's path
 * and the HTTP API's routing), so no two of them can disagree about a request.
 *
 * <ul>
 *   <li>{@link Kind#MALFORMED}: the hub cannot route it safely: the decoder failed, an HTTP/1.1
 *       request without exactly one non-empty {@code Host} (RFC 9112 3.2), a bad percent-escape, or
 *       the AIP path in another spelling ({@code /w%73}, {@code /ws#x}: it decodes to the AIP path
 *       but is not spelled as it). Refused with a 400; {@link #problem()} says why.
 *   <li>{@link Kind#AIP}: the path is the AIP path, spelled exactly ({@code /ws}, then nothing or a
 *       query). Only these ever meet the WebSocket handshake.
 *   <li>{@link Kind#HTTP}: anything else, for the HTTP API, which routes it by {@link #path()}.
 * </ul>
 *
 * <p>The AIP path in another spelling is refused rather than treated as the AIP path: no client
 * escapes the letters of a fixed path, and a proxy or firewall rule written for {@code /ws} must
 * not be bypassed by spelling it differently. The HTTP API's routes take their decoded path: their
 * key check and routing use the same decoded path, so there the spelling decides nothing.
 */
final class RequestTarget {
  /** What a request is for. */
  enum Kind {
    MALFORMED,
    AIP,
    HTTP
  }

  private final Kind kind;
  private final String path;
  private final Map<String, List<String>> parameters;
  private final String problem;

  private RequestTarget(
      Kind kind, String path, Map<String, List<String>> parameters, String problem) {
    this.kind = kind;
    this.path = path;
    this.parameters = parameters;
    this.problem = problem;
  }

  /**
   * Classifies {@code req} for a hub whose AIP endpoint is {@code wsPath} ({@code null}: for a
   * handler behind the guard, which only tells malformed requests from the others).
   */
  static RequestTarget of(HttpRequest req, String wsPath) {
    if (!req.decoderResult().isSuccess()) {
      return malformed("malformed HTTP request");
    }
    String hostProblem = hostProblem(req);
    if (hostProblem != null) {
      return malformed(hostProblem);
    }
    RequestTarget t = parse(req.uri());
    if (t.kind == Kind.MALFORMED || wsPath == null || !t.path.equals(wsPath)) {
      return t;
    }
    int query = req.uri().indexOf('?');
    String raw = query < 0 ? req.uri() : req.uri().substring(0, query);
    if (!raw.equals(wsPath)) {
      return malformed(
          "the AIP endpoint is " + wsPath + ", spelled exactly: no %-escapes or '#' in its path");
    }
    return new RequestTarget(Kind.AIP, t.path, t.parameters, null);
  }

  /**
   * The decoded path and query parameters of a request URI, or {@link Kind#MALFORMED} when it has a
   * bad percent-escape; never {@link Kind#AIP} (that takes the request: see {@link #of}).
   */
  private static RequestTarget parse(String uri) {
    QueryStringDecoder d = new QueryStringDecoder(uri);
    try {
      return new RequestTarget(Kind.HTTP, d.path(), d.parameters(), null);
    } catch (IllegalArgumentException e) {
      return malformed("malformed request URI (bad %-escape)");
    }
  }

  private static String hostProblem(HttpRequest req) {
    if (!HttpVersion.HTTP_1_1.equals(req.protocolVersion())) {
      return null; // HTTP/1.0 has no Host requirement
    }
    List<String> hosts = req.headers().getAll(HttpHeaderNames.HOST);
    if (hosts.isEmpty() || hosts.get(0).isBlank()) {
      return "HTTP/1.1 requires a Host header";
    }
    if (hosts.size() > 1) {
      return "more than one Host header";
    }
    return null;
  }

  private static RequestTarget malformed(String problem) {
    return new RequestTarget(Kind.MALFORMED, null, Map.of(), problem);
  }

  Kind kind() {
    return kind;
  }

  /** The decoded path (null when malformed). */
  String path() {
    return path;
  }

  /** The decoded query parameters. */
  Map<String, List<String>> parameters() {
    return parameters;
  }

  /** Why a malformed request is refused. */
  String problem() {
    return problem;
  }
}
