package org.aiphub.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a raw setting (a YAML scalar or list, or the text of an environment variable or flag) into
 * a value. A value of the wrong form throws {@link IllegalArgumentException} whose message says
 * what was expected; the loader adds the source, the key and the value.
 */
final class ValueParsers {
  private static final Pattern SIZE =
      Pattern.compile("(?i)^\\s*(\\d+)\\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?\\s*$");
  private static final Pattern SPAN = Pattern.compile("(?i)^\\s*(\\d+)\\s*(ms|s|m|h|d)?\\s*$");

  private ValueParsers() {}

  /** Any single YAML value as text; a list or mapping is refused. */
  static String scalar(Object raw) {
    if (raw instanceof Map || raw instanceof List) {
      throw new IllegalArgumentException("must be a single value");
    }
    return String.valueOf(raw);
  }

  static int integer(Object raw) {
    if (raw instanceof Integer) {
      return (Integer) raw;
    }
    if (raw instanceof String) {
      try {
        return Integer.parseInt(((String) raw).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be an integer");
      }
    }
    throw new IllegalArgumentException("must be an integer");
  }

  /** Bytes: an integer, or a number with KiB/MiB/GiB (1024-based) or KB/MB/GB (1000-based). */
  static long bytes(Object raw) {
    if (raw instanceof Integer || raw instanceof Long) {
      return ((Number) raw).longValue();
    }
    Matcher m = SIZE.matcher(scalar(raw));
    if (!m.matches()) {
      throw new IllegalArgumentException("must be a size such as 4MiB, 64KiB or 1048576");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    long factor;
    switch (unit) {
      case "kb":
        factor = 1000L;
        break;
      case "k":
      case "kib":
        factor = 1024L;
        break;
      case "mb":
        factor = 1000L * 1000;
        break;
      case "m":
      case "mib":
        factor = 1024L * 1024;
        break;
      case "gb":
        factor = 1000L * 1000 * 1000;
        break;
      case "g":
      case "gib":
        factor = 1024L * 1024 * 1024;
        break;
      default:
        factor = 1;
    }
    try {
      return Math.multiplyExact(n, factor);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("is too large");
    }
  }

  /** A size that an {@code int} holds: buffers and frame limits are ints in Netty. */
  static int intBytes(Object raw) {
    long v = bytes(raw);
    if (v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("must be below 2 GiB");
    }
    return (int) v;
  }

  /** A duration: seconds as an integer, {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, ISO. */
  static Duration duration(Object raw) {
    if (raw instanceof Integer || raw instanceof Long) {
      return Duration.ofSeconds(((Number) raw).longValue());
    }
    String s = scalar(raw);
    Matcher m = SPAN.matcher(s);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
      switch (unit) {
        case "ms":
          return Duration.ofMillis(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        case "d":
          return Duration.ofDays(n);
        default:
          return Duration.ofSeconds(n);
      }
    }
    try {
      return Duration.parse(s.trim());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("must be a duration such as 500ms, 10s, 2m or 1h");
    }
  }

  /**
   * A path; a relative one from a config file is taken relative to that file's directory ({@code
   * baseDir}), one from the environment or a flag as given ({@code baseDir} is {@code null}).
   */
  static Path path(Object raw, Path baseDir) {
    Path p = Path.of(scalar(raw));
    return baseDir != null && !p.isAbsolute() ? baseDir.resolve(p).normalize() : p;
  }

  /** A YAML list of strings, or comma-separated text (blank items dropped). */
  static List<String> list(Object raw) {
    if (raw instanceof List) {
      List<String> out = new ArrayList<>();
      for (Object o : (List<?>) raw) {
        if (o instanceof Map || o instanceof List || o == null) {
          throw new IllegalArgumentException("must be a list of strings");
        }
        out.add(String.valueOf(o));
      }
      return out;
    }
    String s = scalar(raw).trim();
    if (s.isEmpty()) {
      return Collections.emptyList();
    }
    List<String> out = new ArrayList<>();
    Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).forEach(out::add);
    return out;
  }
}
