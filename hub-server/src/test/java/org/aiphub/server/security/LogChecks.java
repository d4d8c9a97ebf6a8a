package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import org.aiphub.server.testing.LogCapture;

/** Checks over captured log events. */
final class LogChecks {
  private LogChecks() {}

  /**
   * Whether {@code c} could forge or hide log content when written raw: C0 and C1 controls (CR, LF,
   * ESC among them), DEL, the Unicode line and paragraph separators and the bidirectional
   * overrides.
   */
  static boolean isDangerous(char c) {
    return c < 0x20
        || (c >= 0x7F && c <= 0x9F)
        || c == '\u2028'
        || c == '\u2029'
        || (c >= '\u202A' && c <= '\u202E')
        || (c >= '\u2066' && c <= '\u2069');
  }

  /** The first dangerous character of {@code s}, or -1. */
  static int firstDangerous(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (isDangerous(s.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  /** No captured event's formatted message holds a dangerous character. */
  static void assertNoRawControlCharacters(LogCapture logs) {
    for (ILoggingEvent e : logs.events()) {
      String m = String.valueOf(e.getFormattedMessage());
      int at = firstDangerous(m);
      assertThat(at)
          .as(
              "raw U+%04X in a log line of %s: %s",
              at < 0 ? 0 : (int) m.charAt(at), e.getLoggerName(), m)
          .isNegative();
    }
  }

  /** No captured event (message, arguments or exception chain) holds any of {@code secrets}. */
  static void assertNoneContains(LogCapture logs, String... secrets) {
    for (ILoggingEvent e : logs.events()) {
      StringBuilder all = new StringBuilder(LogCapture.fullText(e));
      if (e.getArgumentArray() != null) {
        for (Object arg : e.getArgumentArray()) {
          all.append(" | ").append(arg);
        }
      }
      for (String secret : secrets) {
        assertThat(all.toString()).as("log event of %s", e.getLoggerName()).doesNotContain(secret);
      }
    }
  }
}
