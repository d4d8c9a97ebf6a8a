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
 * (faster than hashing at AIP sizes); larger ones get an index: the entries' positions sorted by
 * key hash, then by key, searched by bisection. Keys come from clients, who can choose thousands
 * with one hash code ("Aa" and "BB" collide, and so does every string made of them): a hash table
 * probed on {@code String.hashCode} then costs O(n) per key and O(n^2) to build, while the sorted
 * index costs O(n log n) to build and O(log n) per look-up whatever the keys, in n ints. Only
 * {@link JsonValues} creates instances.
 */
final class FrozenMap extends AbstractMap<String, Object> {
  static final FrozenMap EMPTY = new FrozenMap(new String[0], new Object[0]);

  /** Up to this many entries a linear scan beats bisection. */
  static final int LINEAR = 8;

  private final String[] keys;
  private final Object[] values;
  private final int[] index; // entry positions in (hash, key) order; null for small maps
  private Set<Entry<String, Object>> entries;

  private FrozenMap(String[] keys, Object[] values) {
    this.keys = keys;
    this.values = values;
    this.index = keys.length > LINEAR ? buildIndex(keys) : null;
  }

  /**
   * The entry positions ordered by key hash, then by key. The hashes are sorted as primitives (the
   * JDK's sort of a {@code long[]} is O(n log n) in the worst case); only runs of equal hashes,
   * which an attacker can make as long as the map, are then sorted by key.
   */
  static int[] buildIndex(String[] keys) {
    int n = keys.length;
    long[] byHash = new long[n];
    for (int i = 0; i < n; i++) {
      byHash[i] = ((long) keys[i].hashCode() << 32) | i;
    }
    Arrays.sort(byHash);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = (int) byHash[i];
    }
    for (int start = 0; start < n; ) {
      int hash = (int) (byHash[start] >>> 32);
      int end = start + 1;
      while (end < n && (int) (byHash[end] >>> 32) == hash) {
        end++;
      }
      if (end - start > 1) {
        Integer[] run = new Integer[end - start];
        for (int i = start; i < end; i++) {
          run[i - start] = order[i];
        }
        Arrays.sort(run, (a, b) -> keys[a].compareTo(keys[b])); // merge sort: O(k log k)
        for (int i = start; i < end; i++) {
          order[i] = run[i - start];
        }
      }
      start = end;
    }
    return order;
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
    String k = (String) key;
    int hash = k.hashCode();
    int lo = 0;
    int hi = index.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      String candidate = keys[index[mid]];
      int h = candidate.hashCode();
      int c = h != hash ? Integer.compare(h, hash) : candidate.compareTo(k);
      if (c < 0) {
        lo = mid + 1;
      } else if (c > 0) {
        hi = mid - 1;
      } else {
        return index[mid];
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
