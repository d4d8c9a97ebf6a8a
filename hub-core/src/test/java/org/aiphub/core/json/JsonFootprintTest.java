package org.aiphub.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JsonFootprintTest {
  private static final JsonFactory JSON = new JsonFactory();

  private static String compact(Object value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      JsonValues.write(g, value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The compact text as a character writer gets it (what a preview is cut from). */
  private static String compactChars(Object value) {
    java.io.StringWriter out = new java.io.StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      JsonValues.write(g, value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  private static int utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  @Test
  void jsonBytesIsTheLengthOfTheCompactText() {
    SplittableRandom r = new SplittableRandom(13);
    for (int i = 0; i < 500; i++) {
      Object v = JsonValues.freeze(randomValue(r, 0));
      assertThat(JsonFootprint.of(v).jsonBytes()).as("%s", v).isEqualTo(utf8(compact(v)));
    }
  }

  @Test
  void scalarsAndEdgeStrings() {
    assertThat(JsonFootprint.of(null)).isEqualTo(new JsonFootprint.Size(0, 4));
    assertThat(JsonFootprint.of(Boolean.TRUE)).isEqualTo(new JsonFootprint.Size(0, 4));
    assertThat(JsonFootprint.of(Boolean.FALSE).jsonBytes()).isEqualTo(5);
    for (String s :
        List.of("", "a\"b\\c", "tab\there\u0001", "é", "日本", "\uD83D\uDE00", "lone \uD800 x")) {
      assertThat(JsonFootprint.of(s).jsonBytes()).as(s).isEqualTo(utf8(compact(s)));
    }
    assertThat(JsonFootprint.of(new BigDecimal("1e400")).jsonBytes())
        .isEqualTo(new BigDecimal("1e400").toString().length());
    assertThatThrownBy(() -> JsonFootprint.of(new Object()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void heapGrowsWithTheValueAndCountsSharedStringsOnce() {
    String big = "x".repeat(100_000);
    long latin1 = JsonFootprint.of(big).heapBytes();
    long utf16 = JsonFootprint.of("\u65e5".repeat(100_000)).heapBytes();
    assertThat(latin1).isBetween(100_000L, 100_100L);
    assertThat(utf16).isBetween(200_000L, 200_100L);

    // The same instance twice costs once; an equal copy costs again.
    assertThat(JsonFootprint.of(JsonValues.freeze(List.of(big, big))).heapBytes())
        .isLessThan(latin1 + 200);
    assertThat(
            JsonFootprint.of(JsonValues.freeze(List.of(big, new String(big.toCharArray()))))
                .heapBytes())
        .isGreaterThan(2 * latin1);

    Map<String, Object> object = new LinkedHashMap<>();
    for (int i = 0; i < 1000; i++) {
      object.put("key" + i, i);
    }
    long heap = JsonFootprint.of(JsonValues.freeze(object)).heapBytes();
    assertThat(heap)
        .as("1000 entries: keys, boxed ints, arrays, index")
        .isBetween(60_000L, 90_000L);
  }

  @Test
  void previewIsTheBeginningOfTheCompactText() {
    SplittableRandom r = new SplittableRandom(7);
    for (int i = 0; i < 300; i++) {
      Object v = JsonValues.freeze(randomValue(r, 0));
      String text = compactChars(v);
      int max = 1 + r.nextInt(200);
      String p = JsonFootprint.preview(v, max);
      assertThat(text).startsWith(p);
      assertThat(p.length()).isLessThanOrEqualTo(max);
      assertThat(p.length()).isGreaterThanOrEqualTo(Math.min(text.length(), max) - 1);
    }
  }

  @Test
  void previewOfAHugeValueCostsLittleAndNeverSplitsASurrogatePair() {
    List<Object> huge = new ArrayList<>();
    for (int i = 0; i < 200_000; i++) {
      huge.add("\uD83D\uDE00");
    }
    Object v = JsonValues.freeze(huge);
    String p = JsonFootprint.preview(v, 1024);
    assertThat(p.length()).isBetween(1020, 1024);
    assertThat(Character.isHighSurrogate(p.charAt(p.length() - 1))).isFalse();
    assertThat(JsonFootprint.cut("ab\uD83D\uDE00", 3)).isEqualTo("ab");
    assertThat(JsonFootprint.cut("abc", 10)).isEqualTo("abc");
  }

  @Test
  void utf8LengthMatchesTheJdk() {
    for (String s : List.of("", "abc", "é", "日本語", "\uD83D\uDE00x", "a\u0000b")) {
      assertThat(JsonFootprint.utf8Length(s)).as(s).isEqualTo(utf8(s));
    }
    assertThat(JsonFootprint.utf8Length("\uD800")).isEqualTo(3);
  }

  private static Object randomValue(SplittableRandom r, int depth) {
    int kind = r.nextInt(depth > 3 ? 6 : 8);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return r.nextBoolean();
      case 2:
        return r.nextInt();
      case 3:
        return r.nextBoolean() ? (Object) r.nextLong() : BigInteger.valueOf(r.nextLong()).pow(2);
      case 4:
      case 5:
        return randomString(r);
      case 6:
        {
          List<Object> l = new ArrayList<>();
          for (int i = r.nextInt(6); i > 0; i--) {
            l.add(randomValue(r, depth + 1));
          }
          return l;
        }
      default:
        {
          Map<String, Object> m = new LinkedHashMap<>();
          for (int i = r.nextInt(6); i > 0; i--) {
            m.put(randomString(r), randomValue(r, depth + 1));
          }
          return m;
        }
    }
  }

  private static String randomString(SplittableRandom r) {
    String[] pieces = {"a", "Z", "\"", "\\", "\n", "\u0001", "é", "日", "\uD83D\uDE00", " ", "/"};
    StringBuilder b = new StringBuilder();
    for (int i = r.nextInt(12); i > 0; i--) {
      b.append(pieces[r.nextInt(pieces.length)]);
    }
    return b.toString();
  }
}
