package org.aiphub.core.json;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Read-only, insertion-ordered JSON object stored as two exact-size arrays. The registry keeps a
 * few of these per device (its system info, metadata), so the layout matters: a LinkedHashMap costs
 * about 40 bytes per entry plus its table, this about 8. Small objects are searched linearly
 * (faster than hashing at AIP sizes); larger ones get an open-addressing index. Only {@link
 * JsonValues} creates instances.
 */
final class FrozenMap extends AbstractMap<String, Object> {
  static final FrozenMap EMPTY = new FrozenMap(new String[0], new Object[0]);

  /** Up to this many entries a linear scan beats hashing. */
  private static final int LINEAR = 8;

  private final String[] keys;
  private final Object[] values;
  private final int[] index; // slot -> entry position + 1; null for small maps
  private Set<Entry<String, Object>> entries;

  private FrozenMap(String[] keys, Object[] values) {
    this.keys = keys;
    this.values = values;
    this.index = keys.length > LINEAR ? buildIndex(keys) : null;
  }

  private static int[] buildIndex(String[] keys) {
    int[] slots = new int[Integer.highestOneBit(keys.length * 2 - 1) << 1];
    int mask = slots.length - 1;
    for (int i = 0; i < keys.length; i++) {
      int s = spread(keys[i].hashCode()) & mask;
      while (slots[s] != 0) {
        s = (s + 1) & mask;
      }
      slots[s] = i + 1;
    }
    return slots;
  }

  private static int spread(int h) {
    return h ^ (h >>> 16);
  }

  private int indexOf(Object key) {
    if (!(key instanceof String)) {
      return -1;
    }
    if (index == null) {
      for (int i = 0; i < keys.length; i++) {
        if (keys[i].equals(key)) {
          return i;
        }
      }
      return -1;
    }
    int mask = index.length - 1;
    for (int s = spread(key.hashCode()) & mask; index[s] != 0; s = (s + 1) & mask) {
      int i = index[s] - 1;
      if (keys[i].equals(key)) {
        return i;
      }
    }
    return -1;
  }

  @Override
  public Object get(Object key) {
    int i = indexOf(key);
    return i < 0 ? null : values[i];
  }

  @Override
  public boolean containsKey(Object key) {
    return indexOf(key) >= 0;
  }

  @Override
  public int size() {
    return keys.length;
  }

  @Override
  public Set<Entry<String, Object>> entrySet() {
    Set<Entry<String, Object>> e = entries;
    if (e == null) {
      e =
          new AbstractSet<>() {
            @Override
            public Iterator<Entry<String, Object>> iterator() {
              return new Iterator<>() {
                private int next;

                @Override
                public boolean hasNext() {
                  return next < keys.length;
                }

                @Override
                public Entry<String, Object> next() {
                  if (next >= keys.length) {
                    throw new NoSuchElementException();
                  }
                  int i = next++;
                  return new SimpleImmutableEntry<>(keys[i], values[i]);
                }
              };
            }

            @Override
            public int size() {
              return keys.length;
            }
          };
      entries = e; // a benign race: any thread may build the same stateless view
    }
    return e;
  }

  /** A mutable copy, for code that derives a new object from this one. */
  LinkedHashMap<String, Object> mutableCopy() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>(Math.max(4, keys.length * 2));
    for (int i = 0; i < keys.length; i++) {
      m.put(keys[i], values[i]);
    }
    return m;
  }

  /** Freezes a map of already-frozen values (the map itself is only read). */
  static Map<String, Object> wrap(Map<String, Object> source) {
    if (source.isEmpty()) {
      return EMPTY;
    }
    String[] k = new String[source.size()];
    Object[] v = new Object[source.size()];
    int i = 0;
    for (Map.Entry<String, Object> e : source.entrySet()) {
      k[i] = e.getKey();
      v[i] = e.getValue();
      i++;
    }
    return new FrozenMap(
        i == k.length ? k : Arrays.copyOf(k, i), i == v.length ? v : Arrays.copyOf(v, i));
  }
}
