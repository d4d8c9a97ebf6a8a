package org.aiphub.server.route;

import org.aiphub.server.security.Escaping;

/**
 * Safe rendering of client-controlled strings in replies and logs, as the router and the packages
 * above it (cluster, HTTP API, logging) name it. It is {@link Escaping}, which lives in the
 * security package so that the security checks (which quote hosts and origins in their refusals)
 * need nothing from the router.
 */
public final class Text {
  private Text() {}

  /**
   * Single-quotes {@code s}, keeping at most 80 characters and escaping quotes, backslashes and
   * every character outside printable ASCII as {@code \\uXXXX}: nothing a client sends can break a
   * log line or a header, or make a reply large.
   */
  public static String quote(String s) {
    return Escaping.quote(s);
  }

  /** Like {@link #quote} without the quotes, for log fields. */
  public static String escape(String s) {
    return Escaping.escape(s);
  }
}
