package org.aiphub.core.aip;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Utf8Test {
  /** The JDK's strict decoder is the oracle. */
  private static boolean jdkAccepts(byte[] b) {
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  @Test
  void agreesWithTheJdkDecoderOnRandomBytes() {
    Random random = new Random(42);
    int valid = 0;
    for (int i = 0; i < 200_000; i++) {
      byte[] b = new byte[1 + random.nextInt(6)];
      random.nextBytes(b);
      boolean expected = jdkAccepts(b);
      assertThat(Utf8.isValid(b, 0, b.length))
          .as("%s", java.util.Arrays.toString(b))
          .isEqualTo(expected);
      valid += expected ? 1 : 0;
    }
    assertThat(valid).isGreaterThan(1000); // the sample did exercise the accepting side
  }

  @Test
  void agreesOnEveryCodePointEncodedByTheJdk() {
    for (int cp = 0; cp <= 0x10FFFF; cp += 7) {
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        continue;
      }
      byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
      assertThat(Utf8.isValid(b, 0, b.length)).as("U+%04X", cp).isTrue();
    }
  }

  @Test
  void honoursOffsetAndLength() {
    byte[] b = {(byte) 0xFF, 'o', 'k', (byte) 0xFF};
    assertThat(Utf8.isValid(b, 1, 2)).isTrue();
    assertThat(Utf8.isValid(b, 0, 2)).isFalse();
    byte[] split = "é".getBytes(StandardCharsets.UTF_8);
    assertThat(Utf8.isValid(split, 0, 1)).isFalse();
  }
}
