package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class ClientIdsTest {
  @ParameterizedTest
  @ValueSource(
      strings = {
        "d",
        "device_windows_001",
        "weekly_report@device_windows_001",
        "t1@task-7",
        "a.b_c-d:e@f/g+h=i#j~k",
        "._-:@/+=#~",
        "设备一号", // CJK letters
        "Gerät-ß", // Latin letters with diacritics
        "устройство", // Cyrillic
        "١٢٣", // Arabic-Indic digits
        "\uD835\uDC9C\uD835\uDC9C", // MATHEMATICAL SCRIPT CAPITAL A, outside the BMP
        "0123456789"
      })
  void safeIdsAreAccepted(String id) {
    assertThat(ClientIds.problem("client_id", id)).isNull();
  }

  @Test
  void lengthIsOneTo256Characters() {
    assertThat(ClientIds.problem("client_id", "x".repeat(256))).isNull();
    assertThat(ClientIds.problem("client_id", "x".repeat(257)))
        .isEqualTo("client_id is longer than 256 characters");
    assertThat(ClientIds.MAX_LENGTH).isEqualTo(256);
  }

  @ParameterizedTest
  @NullAndEmptySource
  void missingIdsAreRefused(String id) {
    assertThat(ClientIds.problem("session_id", id))
        .isEqualTo("session_id must be a non-empty string");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a b",
        " ",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\u0000b",
        "a\u007fb",
        "a'b",
        "a\"b",
        "a\\b",
        "a;b",
        "a,b",
        "a<b>",
        "a%20b",
        "a?b",
        "a&b",
        "a*b",
        "a!b",
        "a$b",
        "a|b",
        "a(b)",
        "a[b]",
        "a{b}",
        "a`b",
        "a^b",
        "a\u00a0b", // no-break space
        "a\u200bb", // zero-width space
        "a\u2028b", // line separator
        "\uD83D\uDE00", // emoji: not a letter
        "\uD800" // lone surrogate
      })
  void everythingElseIsRefused(String id) {
    String problem = ClientIds.problem("client_id", id);

    assertThat(problem)
        .startsWith("client_id '")
        .endsWith(" holds a character outside letters, digits and ._-:@/+=#~");
    assertThat(problem).as("the id is escaped in the message").doesNotContain("\n", "\t", "\u0000");
  }

  @Test
  void theProblemNamesWhatWasChecked() {
    assertThat(ClientIds.problem("target_id", "a b")).startsWith("target_id 'a b' holds");
  }
}
