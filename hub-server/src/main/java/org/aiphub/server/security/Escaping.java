package org.aiphub.server.security;

/**
 * Safe rendering of client-controlled strings in replies, logs and headers: the one place that
 * decides how such a string is cut and escaped. The router and everything above it call it as
 * {@code route.Text}.
 */
public final class Escaping {
  private static final int MAX = 80;

  private Escaping() {}

  /**
   * Single-quotes {@code s}, keeping at most 80 characters and escaping quotes, backslashes and
   * every character outside printable ASCII as {@code \\uXXXX}: nothing a client sends can break a
   * log line or a header, or make a reply large.
   */
  public static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX) + 8).append('\'');
    escapeInto(out, s, MAX);
    return out.append('\'').toString();
  }

  /** Like {@link #quote} without the quotes, for log fields. */
  public static String escape(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX) + 4);
    escapeInto(out, s, MAX);
    return out.toString();
  }

  private static void escapeInto(StringBuilder out, String s, int max) {
    int n = Math.min(s.length(), max);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
        out.append(c);
      } else {
        out.append("\\u").append(String.format("%04x", (int) c));
      }
    }
    if (s.length() > max) {
      out.append("...");
    }
  }
}
