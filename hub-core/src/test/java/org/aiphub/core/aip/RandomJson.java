package org.aiphub.core.aip;

import static org.aiphub.core.testing.Fuzz.weighted;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Seeded generators of JSON values as the codec reads them: {@code null}, {@link String}, {@link
 * Boolean}, {@link Integer}, {@link Long} past the int range, {@link BigInteger} past the long
 * range, finite {@link Double}, lists and insertion-ordered maps, nested to a bounded depth. Small
 * sizes and boundary values come up often.
 */
final class RandomJson {
  private static final BigInteger LONG_PAST =
      BigInteger.valueOf(Long.MAX_VALUE).add(BigInteger.ONE);
  private static final BigInteger BIG_MAX = BigInteger.TEN.pow(30);
  private static final int[] INT_EDGES = {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE};
  private static final long[] LONG_EDGES = {
    Long.MIN_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE + 1L, Integer.MIN_VALUE - 1L
  };
  private static final double[] DOUBLE_EDGES = {
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.01,
    -0.01,
    0.5,
    1e-300,
    Double.MIN_VALUE,
    Double.MIN_NORMAL,
    Double.MAX_VALUE,
    -Double.MAX_VALUE
  };

  private RandomJson() {}

  /** A size in {@code [0, max]}: uniform, with the empty and the largest size a bit more often. */
  static int size(SplittableRandom r, int max) {
    switch (r.nextInt(8)) {
      case 0:
        return 0;
      case 1:
        return max;
      default:
        return r.nextInt(max + 1);
    }
  }

  /** A list of {@code [0, max]} elements. */
  static <T> List<T> list(SplittableRandom r, int max, Function<SplittableRandom, T> element) {
    int n = size(r, max);
    List<T> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(element.apply(r));
    }
    return out;
  }

  /** {@code value}, or {@code null} with probability {@code nullChance}. */
  static <T> T orNull(SplittableRandom r, double nullChance, Function<SplittableRandom, T> value) {
    return r.nextDouble() < nullChance ? null : value.apply(r);
  }

  /**
   * Unicode text of up to 20 code points without lone surrogates (what any JSON encoder can write):
   * mostly printable ASCII, some control characters, other BMP characters and astral ones.
   */
  static String text(SplittableRandom r) {
    int n = size(r, 20);
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      switch (weighted(r, 8, 1, 2, 1)) {
        case 0:
          b.append((char) r.nextInt(0x20, 0x7f));
          break;
        case 1:
          b.append((char) r.nextInt(0, 0x20));
          break;
        case 2:
          b.append(bmpChar(r));
          break;
        default:
          b.appendCodePoint(r.nextInt(0x10000, 0x110000));
      }
    }
    return b.toString();
  }

  /** A character in {@code [U+007F, U+FFFD]} that is not a surrogate. */
  private static char bmpChar(SplittableRandom r) {
    int c;
    do {
      c = r.nextInt(0x7f, 0xfffe);
    } while (c >= 0xd800 && c <= 0xdfff);
    return (char) c;
  }

  /** {@link #text}, or {@code null} 40% of the time. */
  static String optText(SplittableRandom r) {
    return orNull(r, 0.4, RandomJson::text);
  }

  /** Any int, boundary values and small numbers often. */
  static int anyInt(SplittableRandom r) {
    switch (r.nextInt(4)) {
      case 0:
        return INT_EDGES[r.nextInt(INT_EDGES.length)];
      case 1:
        return r.nextInt(-100, 101);
      default:
        return r.nextInt();
    }
  }

  /** A long outside the int range (the decoder reads such a number as a Long). */
  static long longPastInt(SplittableRandom r) {
    if (r.nextInt(4) == 0) {
      return LONG_EDGES[r.nextInt(LONG_EDGES.length)];
    }
    long l;
    do {
      l = r.nextLong();
    } while (l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE);
    return l;
  }

  /** A BigInteger in {@code [Long.MAX_VALUE + 1, 10^30]}, both ends often. */
  static BigInteger bigPastLong(SplittableRandom r) {
    switch (r.nextInt(6)) {
      case 0:
        return LONG_PAST;
      case 1:
        return BIG_MAX;
      default:
        BigInteger bits =
            BigInteger.valueOf(r.nextLong() & Long.MAX_VALUE)
                .shiftLeft(63)
                .or(BigInteger.valueOf(r.nextLong() & Long.MAX_VALUE));
        return LONG_PAST.add(bits.mod(BIG_MAX.subtract(LONG_PAST).add(BigInteger.ONE)));
    }
  }

  /** A finite double: boundary values, short decimals, or any finite bit pattern. */
  static double finiteDouble(SplittableRandom r) {
    switch (r.nextInt(4)) {
      case 0:
        return DOUBLE_EDGES[r.nextInt(DOUBLE_EDGES.length)];
      case 1:
        return r.nextLong(-100_000_000L, 100_000_001L) / 100.0;
      default:
        double d;
        do {
          d = Double.longBitsToDouble(r.nextLong());
        } while (Double.isNaN(d) || Double.isInfinite(d));
        return d;
    }
  }

  /** A JSON scalar as the decoder produces it, or null 10% of the time. */
  static Object scalar(SplittableRandom r) {
    if (r.nextInt(10) == 0) {
      return null;
    }
    switch (weighted(r, 4, 2, 1, 1, 2, 1)) {
      case 0:
        return text(r);
      case 1:
        return anyInt(r);
      case 2:
        return longPastInt(r);
      case 3:
        return bigPastLong(r);
      case 4:
        return finiteDouble(r);
      default:
        return r.nextBoolean();
    }
  }

  /** Any JSON value nested at most {@code depth} levels (scalars 3 in 5 at every level). */
  static Object json(SplittableRandom r, int depth) {
    if (depth == 0) {
      return scalar(r);
    }
    switch (weighted(r, 3, 1, 1)) {
      case 0:
        return scalar(r);
      case 1:
        return list(r, 4, x -> json(x, depth - 1));
      default:
        return object(r, x -> json(x, depth - 1));
    }
  }

  /** A JSON object of up to 4 entries (text keys, a repeated key keeps its last value). */
  static Map<String, Object> object(SplittableRandom r, Function<SplittableRandom, Object> value) {
    List<String> keys = list(r, 4, RandomJson::text);
    Map<String, Object> m = new LinkedHashMap<>();
    for (String k : keys) {
      m.put(k, value.apply(r));
    }
    return m;
  }

  /** A JSON object whose values nest at most {@code depth} levels. */
  static Map<String, Object> object(SplittableRandom r, int depth) {
    return object(r, x -> json(x, depth));
  }
}
