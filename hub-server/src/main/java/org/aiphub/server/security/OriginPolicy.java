package org.aiphub.server.security;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Defends against DNS rebinding and cross-site use: which {@code Host} header names and which
 * browser {@code Origin}s may reach the WebSocket endpoint and the HTTP API.
 *
 * <ul>
 *   <li>Host: the configured names ({@code *} for any); with none configured, a hub bound to
 *       loopback accepts only loopback names, one bound elsewhere any name.
 *   <li>Origin (sent by browsers only): the configured origins ({@code *} for any), the hub's own
 *       origin (same host and port as the request's Host: its own dashboard), and, with none
 *       configured on a loopback-bound hub, loopback origins.
 * </ul>
 */
public final class OriginPolicy {
  private final Set<String> hosts;
  private final Set<String> origins;
  private final boolean loopbackOnly;

  /** A policy for a hub bound to {@code bindHost}. */
  public OriginPolicy(List<String> allowedHosts, List<String> allowedOrigins, String bindHost) {
    this.hosts = allowedHosts.stream().map(OriginPolicy::lower).collect(Collectors.toSet());
    this.origins = allowedOrigins.stream().map(OriginPolicy::lower).collect(Collectors.toSet());
    this.loopbackOnly = isLoopbackName(lower(bindHost));
  }

  /** Why a request with this {@code Host} header is refused, or {@code null} when it is fine. */
  public String refuseHost(String hostHeader) {
    if (hosts.contains("*")) {
      return null;
    }
    if (hostHeader == null || hostHeader.isBlank()) {
      return hosts.isEmpty() ? null : "a Host header is required";
    }
    String name = hostName(hostHeader);
    if (!hosts.isEmpty()) {
      return hosts.contains(name) ? null : "Host " + quote(name) + " is not allowed";
    }
    if (loopbackOnly && !isLoopbackName(name)) {
      return "Host " + quote(name) + " is not allowed on a hub bound to loopback";
    }
    return null;
  }

  /**
   * Why a request with this {@code Origin} is refused, or {@code null} when it is fine (always for
   * requests without an Origin: they do not come from a browser page).
   */
  public String refuseOrigin(String origin, String hostHeader) {
    if (origin == null || origins.contains("*")) {
      return null;
    }
    String o = lower(origin.trim());
    if (origins.contains(o)) {
      return null;
    }
    URI uri;
    try {
      uri = new URI(o);
    } catch (URISyntaxException e) {
      return "Origin " + quote(origin) + " is not allowed";
    }
    if (uri.getHost() == null
        || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
      return "Origin " + quote(origin) + " is not allowed";
    }
    String originHost = stripBrackets(uri.getHost());
    int originPort =
        uri.getPort() != -1 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
    if (hostHeader != null
        && originHost.equals(hostName(hostHeader))
        && originPort == hostPort(hostHeader, originPort)) {
      return null; // same origin: the hub's own pages
    }
    if (origins.isEmpty() && loopbackOnly && isLoopbackName(originHost)) {
      return null;
    }
    return "Origin " + quote(origin) + " is not allowed";
  }

  /**
   * The lower-case name part of a Host header ({@code name}, {@code name:port}, {@code [v6]:p}).
   */
  static String hostName(String hostHeader) {
    String h = lower(hostHeader.trim());
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end > 0 ? h.substring(1, end) : h;
    }
    int colon = h.indexOf(':');
    if (colon >= 0 && h.indexOf(':', colon + 1) < 0) {
      return h.substring(0, colon);
    }
    return h;
  }

  private static int hostPort(String hostHeader, int fallback) {
    String h = hostHeader.trim();
    int colon = h.lastIndexOf(':');
    int bracket = h.lastIndexOf(']');
    if (colon > bracket && colon >= 0) {
      try {
        return Integer.parseInt(h.substring(colon + 1));
      } catch (NumberFormatException e) {
        return -1;
      }
    }
    return fallback;
  }

  static boolean isLoopbackName(String name) {
    String n = stripBrackets(name);
    return n.equals("localhost")
        || n.endsWith(".localhost")
        || n.equals("::1")
        || n.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }

  private static String stripBrackets(String s) {
    return s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
  }

  private static String lower(String s) {
    return s == null ? null : s.toLowerCase(Locale.ROOT);
  }

  private static String quote(String s) {
    return Escaping.quote(s);
  }
}
