package org.aiphub.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonValuesTest {
  @Test
  void freezeMakesADeepReadOnlyCopyThatKeepsOrderAndNulls() {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("z", 1);
    inner.put("a", null);
    List<Object> list = new ArrayList<>(Arrays.asList(1, null, inner));
    Map<String, Object> outer = new LinkedHashMap<>();
    outer.put("list", list);
    outer.put("b", "x");

    Map<String, Object> frozen = JsonValues.freezeObject(outer);
    list.add("later");
    inner.put("later", true);

    assertThat(frozen.keySet()).containsExactly("list", "b");
    @SuppressWarnings("unchecked")
    List<Object> frozenList = (List<Object>) frozen.get("list");
    assertThat(frozenList).hasSize(3);
    assertThat(List.copyOf(((Map<?, ?>) frozenList.get(2)).keySet())).isEqualTo(List.of("z", "a"));
    assertThatThrownBy(() -> frozen.put("c", 1)).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> frozenList.add(1)).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> frozen.entrySet().iterator().next().setValue(1))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void freezingAFrozenValueReturnsTheSameInstance() {
    Map<String, Object> frozen = JsonValues.freezeObject(Map.of("a", List.of(1)));
    assertThat(JsonValues.freeze(frozen)).isSameAs(frozen);
    assertThat(JsonValues.freezeObject(frozen)).isSameAs(frozen);
  }

  @Test
  void numbersAreNormalised() {
    assertThat(JsonValues.freeze((short) 3)).isEqualTo(3);
    assertThat(JsonValues.freeze(15.8f)).isEqualTo(15.8d);
    assertThat(JsonValues.freeze(BigInteger.TEN)).isEqualTo(BigInteger.TEN);
  }

  @Test
  void nonJsonValuesAreRefused() {
    assertThatThrownBy(() -> JsonValues.freeze(new Object()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JsonValues.freezeObject(Map.of(1, "x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keys must be strings");
  }

  @Test
  void largeObjectsAreIndexedAndKeepTheirOrder() {
    Map<String, Object> source = new LinkedHashMap<>();
    for (int i = 40; i > 0; i--) {
      source.put("key" + i, i);
    }
    Map<String, Object> frozen = JsonValues.freezeObject(source);
    assertThat(List.copyOf(frozen.keySet())).isEqualTo(List.copyOf(source.keySet()));
    for (int i = 1; i <= 40; i++) {
      assertThat(frozen.get("key" + i)).isEqualTo(i);
      assertThat(frozen.containsKey("key" + i)).isTrue();
    }
    assertThat(frozen.get("key0")).isNull();
    assertThat(frozen.containsKey("key41")).isFalse();
    assertThat(frozen.get(7)).isNull();
    assertThat(frozen).isEqualTo(source).hasSameHashCodeAs(source);
  }

  @Test
  void smallObjectsAnswerLookupsAndEqualOrdinaryMaps() {
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("b", null);
    source.put("a", List.of(1));
    Map<String, Object> frozen = JsonValues.freezeObject(source);
    assertThat(frozen.containsKey("b")).isTrue();
    assertThat(frozen.get("b")).isNull();
    assertThat(frozen.get("a")).isEqualTo(List.of(1));
    assertThat(frozen).isEqualTo(source);
    assertThat(JsonValues.mutableCopy(frozen)).isEqualTo(source);
  }

  @Test
  void parsedShortStringsAreSharedBetweenDocuments() throws Exception {
    com.fasterxml.jackson.core.JsonFactory f = new com.fasterxml.jackson.core.JsonFactory();
    String doc = "{\"platform\":\"windows\",\"long\":\"" + "x".repeat(100) + "\"}";
    Map<String, Object> one;
    Map<String, Object> two;
    try (com.fasterxml.jackson.core.JsonParser p = f.createParser(doc)) {
      p.nextToken();
      one = JsonValues.readObject(p);
    }
    try (com.fasterxml.jackson.core.JsonParser p = f.createParser(doc)) {
      p.nextToken();
      two = JsonValues.readObject(p);
    }
    assertThat(one.get("platform")).isSameAs(two.get("platform"));
    assertThat(one.get("long")).isEqualTo(two.get("long")).isNotSameAs(two.get("long"));
  }

  private static Object readNumber(String text) throws IOException {
    try (JsonParser p = new JsonFactory().createParser(text)) {
      p.nextToken();
      return JsonValues.read(p);
    }
  }

  private static String written(Object value) throws IOException {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
      JsonValues.write(g, value);
    }
    return out.toString();
  }

  @Test
  void numbersAreReadAndWrittenBackAsWritten() throws IOException {
    // Issue 13: 1e-999999 became 0.0; on Java 17, Double.toString wrote 135e20 as another number.
    for (String n :
        List.of(
            "1e-999999",
            "-2.5E-400",
            "1e400",
            "4.9e-324",
            "2.5e-320",
            "2.5123456789e-320",
            "3.14159265358979323846264338327950288",
            "0.1000000000000000000001",
            "135e20",
            "5404404476e10",
            "0.30000000000000004",
            "1.7976931348623157E308",
            "0.1",
            "1.5",
            "-0.0",
            "0e10",
            "1.0")) {
      Object v = readNumber(n);
      String out = written(v);
      assertThat(new BigDecimal(out).compareTo(new BigDecimal(n)))
          .as("%s read as %s (%s), written as %s", n, v, v.getClass().getSimpleName(), out)
          .isZero();
      assertThat(readNumber(out)).as("%s read again", out).isEqualTo(v);
    }
    // Doubles where a double holds the number (the common case), exact decimals where not.
    assertThat(readNumber("0.1")).isEqualTo(0.1d);
    assertThat(readNumber("12.5e3")).isEqualTo(12500d);
    assertThat(readNumber("0.30000000000000004")).isEqualTo(0.30000000000000004d);
    assertThat(readNumber("4.9e-324")).isEqualTo(Double.MIN_VALUE);
    assertThat(readNumber("1e-999999")).isEqualTo(new BigDecimal("1e-999999"));
    assertThat(readNumber("2.5e-320")).isEqualTo(2.5e-320d); // subnormal, but written the same
    assertThat(readNumber("2.5123456789e-320")).isEqualTo(new BigDecimal("2.5123456789e-320"));
    assertThat(readNumber("0.1000000000000000000001"))
        .isEqualTo(new BigDecimal("0.1000000000000000000001"));
    assertThat(written(135e20)).isEqualTo("1.35E22");
  }

  @Test
  void significantDigitsCountTheMantissaFromItsFirstToItsLastNonZeroDigit() {
    for (Object[] c :
        new Object[][] {
          {"0.0", 0},
          {"-0e5", 0},
          {"1", 1},
          {"0.00120", 2},
          {"-1.5e300", 2},
          {"1001", 4},
          {"123456789012345.0", 15},
          {"1234567890123456", 16},
          {"1e-999999", 1}
        }) {
      char[] text = ("[" + c[0] + "]").toCharArray();
      assertThat(JsonValues.significantDigits(text, 1, text.length - 2))
          .as("%s", c[0])
          .isEqualTo(c[1]);
    }
  }

  @Test
  void encodedLengthIsTheLengthWriteProduces() throws Exception {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("quote\"back\\slash", "tab\tnl\nbell\u0007");
    inner.put("unicode", "\u00e9\u20ac\ud83d\ude00");
    inner.put(
        "n",
        Arrays.asList(1, -20L, 2.5, null, true, false, new BigInteger("123456789012345678901")));
    inner.put("empty", List.of());
    inner.put("nested", Map.of());
    Object value = JsonValues.freeze(List.of(inner, "x", List.of(1, 2, 3)));
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (com.fasterxml.jackson.core.JsonGenerator g =
        new com.fasterxml.jackson.core.JsonFactory().createGenerator(out)) {
      JsonValues.write(g, value);
    }
    long written = out.size();
    assertThat(JsonValues.encodedLength(value, Long.MAX_VALUE)).isEqualTo(written);
    assertThat(JsonValues.encodedLength(value, written)).isEqualTo(written);
    assertThat(JsonValues.encodedLength(value, written - 1)).isGreaterThan(written - 1);
    assertThat(JsonValues.encodedLength(null, 10)).isEqualTo(4);
    assertThat(JsonValues.encodedLength("", 10)).isEqualTo(2);
  }

  @Test
  void encodedLengthStopsOnceItPassesTheLimit() {
    // A million elements, measured against a limit of 100 bytes: only the first few are visited.
    List<Object> huge = new ArrayList<>();
    for (int i = 0; i < 1_000_000; i++) {
      huge.add(List.of(i));
    }
    List<Object> counted =
        new java.util.AbstractList<>() {
          int visits;

          @Override
          public Object get(int index) {
            return huge.get(index);
          }

          @Override
          public int size() {
            return huge.size();
          }

          @Override
          public java.util.Iterator<Object> iterator() {
            java.util.Iterator<Object> it = huge.iterator();
            return new java.util.Iterator<>() {
              @Override
              public boolean hasNext() {
                return it.hasNext();
              }

              @Override
              public Object next() {
                visits++;
                assertThat(visits).as("elements visited").isLessThan(200);
                return it.next();
              }
            };
          }
        };
    assertThat(JsonValues.encodedLength(counted, 100)).isGreaterThan(100);
    // A long string is not scanned past the limit either.
    assertThat(JsonValues.encodedLength("x".repeat(10_000_000), 100)).isGreaterThan(100);
  }
}
