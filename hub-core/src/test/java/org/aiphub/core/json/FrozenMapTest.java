package org.aiphub.core.json;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The frozen object's look-up structure: a sorted index whose cost does not depend on the keys, so
 * keys chosen to share one hash code (issue 13, finding 2) cost O(n log n) to index and O(log n) to
 * find, as any others do.
 */
class FrozenMapTest {
  @Test
  void collidingKeysAreIndexedInOrderAndEachIsFound() {
    List<String> keys = Collisions.keys(1 << 16, 16);
    assertThat(keys.stream().mapToInt(String::hashCode).distinct().count()).isEqualTo(1);
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      m.put(keys.get(i), i);
    }
    Map<String, Object> frozen = FrozenMap.wrap(m);

    assertThat(frozen).hasSize(keys.size());
    assertThat(List.copyOf(frozen.keySet())).isEqualTo(keys); // insertion order kept
    for (int i = 0; i < keys.size(); i += 97) {
      assertThat(frozen.get(keys.get(i))).isEqualTo(i);
    }
    assertThat(frozen.get("AaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa" + "x")).isNull();
    assertThat(frozen.get("AaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAB")).isNull(); // same length, no entry
    assertThat(frozen.containsKey(keys.get(keys.size() - 1))).isTrue();
  }

  @Test
  void theIndexIsSortedByHashThenByKey() {
    List<String> keys = new ArrayList<>(Collisions.keys(200, 8));
    for (int i = 0; i < 300; i++) {
      keys.add("k" + i);
    }
    Collections.shuffle(keys, new Random(13));
    String[] array = keys.toArray(new String[0]);
    int[] index = FrozenMap.buildIndex(array);

    assertThat(index).hasSize(array.length);
    assertThat(java.util.Arrays.stream(index).sorted().toArray())
        .isEqualTo(java.util.stream.IntStream.range(0, array.length).toArray());
    for (int i = 1; i < index.length; i++) {
      String a = array[index[i - 1]];
      String b = array[index[i]];
      int byHash = Integer.compare(a.hashCode(), b.hashCode());
      assertThat(byHash < 0 || byHash == 0 && a.compareTo(b) < 0).as("%s before %s", a, b).isTrue();
    }
  }

  @Test
  void smallAndMixedMapsFindEveryKeyAndNoOther() {
    Random r = new Random(7);
    for (int size : new int[] {0, 1, FrozenMap.LINEAR, FrozenMap.LINEAR + 1, 50, 1000}) {
      LinkedHashMap<String, Object> m = new LinkedHashMap<>();
      while (m.size() < size) {
        m.put(Integer.toString(r.nextInt(), 36), m.size());
      }
      Map<String, Object> frozen = FrozenMap.wrap(m);
      assertThat(frozen).isEqualTo(m);
      m.forEach((k, v) -> assertThat(frozen.get(k)).isEqualTo(v));
      assertThat(frozen.get("not-a-key")).isNull();
      assertThat(frozen.get(42)).isNull();
    }
  }
}
