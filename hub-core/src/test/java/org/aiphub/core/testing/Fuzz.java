package org.aiphub.core.testing;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A minimal seeded harness for the property tests ({@code *PropertyTest}): a property is a plain
 * JUnit {@code @Test} that calls {@link #forAll}, which runs the property body for many tries, each
 * with its own {@link SplittableRandom}.
 *
 * <p>Why seeds: a run explores new inputs every time (the base seed is random per JVM), yet any
 * failure can be replayed exactly, because try {@code 0} uses the base seed itself and try {@code
 * i} uses the {@code i}-th {@code nextLong()} of a {@code SplittableRandom} over the base seed.
 * System properties (Surefire passes {@code mvn -D...} on to the tests):
 *
 * <ul>
 *   <li>{@code -Dhub.fuzz.seed=N}: base seed {@code N} instead of a random one; a failure names the
 *       base seed of its run and the seed of the failing try, so {@code -Dhub.fuzz.seed=<try seed>
 *       -Dhub.fuzz.tries=1} replays just that try;
 *   <li>{@code -Dhub.fuzz.tries=N}: {@code N} tries per property instead of its default.
 * </ul>
 *
 * <p>There is no shrinking: the failure report shows every input the failing try drew (truncated),
 * and replaying a single try is cheap enough to debug it directly.
 *
 * <p>hub-server's property tests use it too, through hub-core's test-jar.
 */
public final class Fuzz {
  public static final String SEED_PROPERTY = "hub.fuzz.seed";
  public static final String TRIES_PROPERTY = "hub.fuzz.tries";

  /**
   * {@link Run#expectShare} checks a share only when it asks for at least this many tries: with
   * fewer (a short run, {@code -Dhub.fuzz.tries}), chance alone could miss the minimum.
   */
  public static final int MIN_EXPECTED = 25;

  private static final int MAX_SHOWN = 1_000;

  /** One base seed per JVM, so every property of a run is replayed by the same -D option. */
  private static final long BASE_SEED =
      property(SEED_PROPERTY) == null
          ? new SplittableRandom().nextLong()
          : Long.parseLong(property(SEED_PROPERTY));

  private Fuzz() {}

  /** A property body: draws its inputs from the try, then asserts. */
  public interface Property {
    void check(Try t) throws Throwable;
  }

  /**
   * Runs {@code property} for {@code defaultTries} tries (or {@code -Dhub.fuzz.tries}). The first
   * failing try, a generator's exception included, ends the run with an {@link AssertionError} that
   * names the seeds, the inputs drawn and how to replay it.
   */
  public static Run forAll(int defaultTries, Property property) {
    String override = property(TRIES_PROPERTY);
    int tries = Math.max(1, override == null ? defaultTries : Integer.parseInt(override));
    String test = caller();
    SplittableRandom seeds = new SplittableRandom(BASE_SEED);
    Run run = new Run(test, tries);
    for (int i = 0; i < tries; i++) {
      long seed = i == 0 ? BASE_SEED : seeds.nextLong();
      Try t = new Try(seed, run);
      try {
        property.check(t);
      } catch (Throwable e) {
        throw t.failure(i, e);
      }
    }
    return run;
  }

  /**
   * A trimmed system property, or null if unset or blank. A malformed number is not ignored: the
   * parse fails loudly rather than silently running random seeds.
   */
  private static String property(String name) {
    String v = System.getProperty(name);
    return v == null || v.isBlank() ? null : v.trim();
  }

  /** {@code Class#method} of the test that called {@link #forAll}, for the replay hint. */
  private static String caller() {
    return StackWalker.getInstance()
        .walk(
            frames ->
                frames
                    .filter(f -> !f.getClassName().equals(Fuzz.class.getName()))
                    .findFirst()
                    .map(
                        f ->
                            f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1)
                                + "#"
                                + f.getMethodName())
                    .orElse("?"));
  }

  /** The tries of one property so far: how often each label came up. */
  public static final class Run {
    private final String test;
    private final int tries;
    private final Map<String, Integer> labels = new TreeMap<>();

    private Run(String test, int tries) {
      this.test = test;
      this.tries = tries;
    }

    public int count(String label) {
      return labels.getOrDefault(label, 0);
    }

    /**
     * Fails unless {@code label} came up in at least {@code minShare} of the tries: the generators
     * must really reach the cases the property is about, or it passes without testing them. Set
     * {@code minShare} to a third or less of the share usually seen, so that a random base seed
     * never misses it by chance; skipped if it asks for fewer than {@link #MIN_EXPECTED} tries.
     */
    public Run expectShare(String label, double minShare) {
      double min = minShare * tries;
      if (min >= MIN_EXPECTED && count(label) < min) {
        throw new AssertionError(
            String.format(
                "%s: generators too weak: '%s' in %d of %d tries, expected at least %.0f%%"
                    + " (base seed %d, replay: -Dtest=%s -D%s=%d); all labels: %s",
                test,
                label,
                count(label),
                tries,
                minShare * 100,
                BASE_SEED,
                test,
                SEED_PROPERTY,
                BASE_SEED,
                labels));
      }
      return this;
    }
  }

  /** One try of a property: its random source and the inputs drawn from it. */
  public static final class Try {
    private final long seed;
    private final Run run;
    private final SplittableRandom random;
    private final List<String> names = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();

    private Try(long seed, Run run) {
      this.seed = seed;
      this.run = run;
      this.random = new SplittableRandom(seed);
    }

    /** Draws an input and keeps it for the failure report. */
    public <T> T draw(String name, Function<SplittableRandom, T> generator) {
      T value = generator.apply(random);
      names.add(name);
      values.add(value);
      return value;
    }

    /** Counts this try under {@code label} (see {@link Run#expectShare}). */
    public void label(String label) {
      run.labels.merge(label, 1, Integer::sum);
    }

    private AssertionError failure(int index, Throwable cause) {
      StringBuilder m =
          new StringBuilder()
              .append(run.test)
              .append(" failed at try ")
              .append(index + 1)
              .append(" of ")
              .append(run.tries)
              .append(": base seed ")
              .append(BASE_SEED)
              .append(", try seed ")
              .append(seed)
              .append("\n  replay the run: -Dtest=")
              .append(run.test)
              .append(" -D")
              .append(SEED_PROPERTY)
              .append('=')
              .append(BASE_SEED)
              .append("\n  replay this try: -Dtest=")
              .append(run.test)
              .append(" -D")
              .append(SEED_PROPERTY)
              .append('=')
              .append(seed)
              .append(" -D")
              .append(TRIES_PROPERTY)
              .append("=1");
      for (int i = 0; i < names.size(); i++) {
        m.append("\n  ").append(names.get(i)).append(" = ").append(show(values.get(i)));
      }
      m.append("\n  failure: ").append(cause);
      return new AssertionError(m.toString(), cause);
    }
  }

  /** The index of a weight, chosen with probability proportional to it. */
  public static int weighted(SplittableRandom r, int... weights) {
    int total = 0;
    for (int w : weights) {
      total += w;
    }
    int x = r.nextInt(total);
    for (int i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) {
        return i;
      }
    }
    throw new AssertionError("unreachable");
  }

  /** One of {@code choices}, uniformly. */
  @SafeVarargs
  public static <T> T oneOf(SplittableRandom r, T... choices) {
    return choices[r.nextInt(choices.length)];
  }

  /** A readable, truncated rendering of a generated value (byte arrays as text or hex). */
  public static String show(Object value) {
    String s;
    if (value instanceof byte[]) {
      s = showBytes((byte[]) value);
    } else if (value instanceof String) {
      s = '"' + escape((String) value) + '"';
    } else if (value instanceof Object[]) {
      s = escape(Arrays.deepToString((Object[]) value));
    } else {
      s = escape(String.valueOf(value));
    }
    return s.length() > MAX_SHOWN ? s.substring(0, MAX_SHOWN) + "...(truncated)" : s;
  }

  /** UTF-8 text when the bytes are valid UTF-8, hex otherwise. */
  private static String showBytes(byte[] b) {
    int n = Math.min(b.length, MAX_SHOWN);
    try {
      CharBuffer text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b));
      return b.length + " bytes, UTF-8: " + escape(text.toString());
    } catch (CharacterCodingException e) {
      StringBuilder hex = new StringBuilder(b.length + " bytes, hex:");
      for (int i = 0; i < n; i++) {
        hex.append(String.format(" %02x", b[i] & 0xff));
      }
      return hex.append(n < b.length ? " ...(truncated)" : "").toString();
    }
  }

  /**
   * Control characters, lone surrogates and U+FFFD made visible as Java escapes: they are what
   * codec bugs tend to be about, and a terminal would hide or mangle them.
   */
  private static String escape(String s) {
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_SHOWN + 16));
    for (int i = 0; i < s.length() && out.length() <= MAX_SHOWN; i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        out.append(c).append(s.charAt(++i)); // a valid pair: printable as it is
      } else if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) || c == '\ufffd') {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
