package org.aiphub.core.registry;

import java.util.Locale;

/** How the registry writes ids into its refusals, and checks the ids it is given. */
final class RegistryText {
  private RegistryText() {}

  /**
   * An id in a refusal: quoted, at most 128 characters, anything but printable ASCII (quotes and
   * backslashes included) as a {@code \\uXXXX} escape, so a look-alike shows what it holds.
   */
  static String quote(String s) {
    int n = Math.min(s.length(), 128);
    StringBuilder out = new StringBuilder(n + 8).append('\'');
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
        out.append(c);
      } else {
        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      }
    }
    return out.append(s.length() > n ? "...'" : "'").toString();
  }

  static void requireId(String id) {
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("id must be a non-empty string");
    }
  }
}
