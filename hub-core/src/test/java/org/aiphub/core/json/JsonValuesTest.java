package org.aiphub.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
