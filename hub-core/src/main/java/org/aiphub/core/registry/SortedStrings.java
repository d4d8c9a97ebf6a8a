package org.aiphub.core.registry;

import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A read-only set of strings in one sorted array, searched by bisection: a device's features and
 * tags. Smaller than a hash set (one reference per element), and O(log n) per look-up whatever the
 * strings: a hash set of client-chosen strings can be made to collide ({@code Set.copyOf} probes
 * linearly, so colliding features cost O(n^2) to copy).
 */
final class SortedStrings extends AbstractSet<String> {
  static final SortedStrings EMPTY = new SortedStrings(new String[0]);

  private final String[] sorted;

  private SortedStrings(String[] sorted) {
    this.sorted = sorted;
  }

  /** The distinct strings of {@code strings} (no nulls). */
  static SortedStrings of(Collection<String> strings) {
    if (strings.isEmpty()) {
      return EMPTY;
    }
    String[] a = strings.toArray(new String[0]);
    Arrays.sort(a); // merge sort: O(n log n) comparisons
    int n = 1;
    for (int i = 1; i < a.length; i++) {
      if (!a[i].equals(a[n - 1])) {
        a[n++] = a[i];
      }
    }
    return new SortedStrings(n == a.length ? a : Arrays.copyOf(a, n));
  }

  @Override
  public boolean contains(Object o) {
    return o instanceof String && Arrays.binarySearch(sorted, o) >= 0;
  }

  @Override
  public int size() {
    return sorted.length;
  }

  @Override
  public Iterator<String> iterator() {
    return new Iterator<>() {
      private int next;

      @Override
      public boolean hasNext() {
        return next < sorted.length;
      }

      @Override
      public String next() {
        if (next >= sorted.length) {
          throw new NoSuchElementException();
        }
        return sorted[next++];
      }
    };
  }
}
