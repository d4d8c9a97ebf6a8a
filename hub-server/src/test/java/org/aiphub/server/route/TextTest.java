package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TextTest {
  @Test
  void nullIsRenderedAsNull() {
    assertThat(Text.quote(null)).isEqualTo("null");
    assertThat(Text.escape(null)).isEqualTo("null");
  }

  @Test
  void printableAsciiIsKeptAndQuoted() {
    assertThat(Text.quote("dev-1 @ home ~/x")).isEqualTo("'dev-1 @ home ~/x'");
    assertThat(Text.quote("")).isEqualTo("''");
    assertThat(Text.escape("dev-1")).isEqualTo("dev-1");
  }

  @Test
  void quotesAndBackslashesAreEscaped() {
    assertThat(Text.quote("it's")).isEqualTo("'it\\u0027s'");
    assertThat(Text.quote("a\\b")).isEqualTo("'a\\u005cb'");
    assertThat(Text.quote("say \"hi\"")).isEqualTo("'say \"hi\"'");
  }

  @Test
  void controlCharactersAreEscaped() {
    assertThat(Text.quote("a\nb\rc\td\u0000e\u001bf\u007fg"))
        .isEqualTo("'a\\u000ab\\u000dc\\u0009d\\u0000e\\u001bf\\u007fg'");
  }

  @Test
  void nonAsciiIsEscapedCharByChar() {
    assertThat(Text.quote("é")).isEqualTo("'\\u00e9'");
    assertThat(Text.quote("设备")).isEqualTo("'\\u8bbe\\u5907'");
    assertThat(Text.quote("\uD83D\uDE00")).isEqualTo("'\\ud83d\\ude00'");
    assertThat(Text.quote("\u2028")).isEqualTo("'\\u2028'");
  }

  @Test
  void theResultIsAlwaysPrintableAscii() {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 0x300; c++) {
      all.append(c);
    }
    for (int from = 0; from < all.length(); from += 80) {
      String q = Text.quote(all.substring(from, Math.min(all.length(), from + 80)));
      assertThat(q.chars()).allMatch(c -> c >= 0x20 && c < 0x7f);
      assertThat(q.substring(1, q.length() - 1)).doesNotContain("'");
    }
  }

  @Test
  void eightyCharactersAreKeptWhole() {
    String s = "x".repeat(80);

    assertThat(Text.quote(s)).isEqualTo("'" + s + "'");
    assertThat(Text.escape(s)).isEqualTo(s);
  }

  @Test
  void longerTextIsCutAtEightyCharactersWithAnEllipsis() {
    String s = "y".repeat(79) + "zABC";

    assertThat(Text.quote(s)).isEqualTo("'" + "y".repeat(79) + "z...'");
    assertThat(Text.escape(s)).isEqualTo("y".repeat(79) + "z...");
    assertThat(Text.quote("x".repeat(100_000))).hasSize(80 + 2 + 3);
  }

  @Test
  void theCutCountsInputCharactersNotEscapes() {
    String s = "\n".repeat(81);

    assertThat(Text.quote(s)).isEqualTo("'" + "\\u000a".repeat(80) + "...'");
  }
}
