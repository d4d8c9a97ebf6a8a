package org.aiphub.core.registry;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The registry's striped monitors: every update of one client id happens under the stripe its hash
 * picks, and an update that needs several stripes takes them in index order, so two updates can
 * never wait for each other in a circle. Nothing is held across I/O.
 */
final class Stripes {
  private static final int COUNT = 128; // power of two

  private final Object[] locks = new Object[COUNT];

  Stripes() {
    for (int i = 0; i < COUNT; i++) {
      locks[i] = new Object();
    }
  }

  /** A body run under stripes, which may throw {@code E}. */
  @FunctionalInterface
  interface Locked<T, E extends Exception> {
    T run() throws E;
  }

  /** The monitor of {@code id}'s stripe. */
  Object of(String id) {
    return locks[index(id)];
  }

  /** The stripes of {@code id} and of its fold keys, in index order, each once. */
  static int[] order(String id, List<String> keys) {
    if (keys.size() == 1) { // the default rule: no stream, no sort
      int a = index(id);
      int b = index(keys.get(0));
      return a == b ? new int[] {a} : new int[] {Math.min(a, b), Math.max(a, b)};
    }
    int[] order = new int[keys.size() + 1];
    order[0] = index(id);
    for (int i = 0; i < keys.size(); i++) {
      order[i + 1] = index(keys.get(i));
    }
    return Arrays.stream(order).sorted().distinct().toArray();
  }

  /** Runs {@code body} holding the stripes {@code order} (ascending, distinct). */
  <T, E extends Exception> T locked(int[] order, Locked<T, E> body) throws E {
    return locked(order, 0, body);
  }

  private <T, E extends Exception> T locked(int[] order, int from, Locked<T, E> body) throws E {
    if (from == order.length) {
      return body.run();
    }
    synchronized (locks[order[from]]) {
      return locked(order, from + 1, body);
    }
  }

  /** Runs {@code body} holding the stripes of {@code a} and {@code b} (either may be null). */
  <T> T both(String a, String b, Supplier<T> body) {
    if (a == null && b == null) {
      return body.get();
    }
    if (a == null || b == null) {
      synchronized (of(a == null ? b : a)) {
        return body.get();
      }
    }
    int ia = index(a);
    int ib = index(b);
    if (ia == ib) {
      synchronized (locks[ia]) {
        return body.get();
      }
    }
    synchronized (locks[Math.min(ia, ib)]) {
      synchronized (locks[Math.max(ia, ib)]) {
        return body.get();
      }
    }
  }

  private static int index(String id) {
    int h = id.hashCode();
    return (h ^ (h >>> 16)) & (COUNT - 1);
  }
}
