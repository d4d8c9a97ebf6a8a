package org.aiphub.server.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A parser for the Prometheus text exposition format (0.0.4): every sample line becomes a {@link
 * Sample} with its metric name, its labels (escapes undone) and its value. A line that does not
 * parse fails the test, so the parser doubles as a format check.
 */
public final class PrometheusText {
  private PrometheusText() {}

  /**
   * One sample line.
   *
   * @param name metric name, suffix included ({@code _total}, {@code _bucket}, ...)
   * @param labels label names to values
   * @param value the sample value
   */
  public record Sample(String name, Map<String, String> labels, double value) {}

  /** Every sample of an exposition, in order. */
  public static List<Sample> parse(String text) {
    List<Sample> out = new ArrayList<>();
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      try {
        out.add(parseLine(line));
      } catch (RuntimeException e) {
        throw new AssertionError("line " + lineNo + " is not a sample: " + line, e);
      }
    }
    return out;
  }

  /** The samples named {@code name}. */
  public static List<Sample> named(List<Sample> samples, String name) {
    return samples.stream().filter(s -> s.name().equals(name)).collect(Collectors.toList());
  }

  /**
   * The value of the one sample named {@code name} whose labels include {@code labels} (pairs of
   * name, value); fails when there is none or more than one.
   */
  public static double value(List<Sample> samples, String name, String... labels) {
    List<Sample> hits = matching(samples, name, labels);
    if (hits.size() != 1) {
      throw new AssertionError(
          "expected exactly one sample "
              + name
              + " with labels "
              + List.of(labels)
              + ", found "
              + hits
              + " among "
              + named(samples, name));
    }
    return hits.get(0).value();
  }

  /** The samples named {@code name} whose labels include {@code labels} (name, value pairs). */
  public static List<Sample> matching(List<Sample> samples, String name, String... labels) {
    if (labels.length % 2 != 0) {
      throw new IllegalArgumentException("labels come in name, value pairs");
    }
    List<Sample> hits = new ArrayList<>();
    for (Sample s : named(samples, name)) {
      boolean all = true;
      for (int i = 0; i < labels.length; i += 2) {
        if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
          all = false;
          break;
        }
      }
      if (all) {
        hits.add(s);
      }
    }
    return hits;
  }

  private static Sample parseLine(String line) {
    int i = 0;
    int n = line.length();
    while (i < n && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
      throw new IllegalArgumentException("bad metric name " + name);
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < n && line.charAt(i) == '{') {
      i++;
      while (true) {
        if (line.charAt(i) == '}') {
          i++;
          break;
        }
        int eq = line.indexOf('=', i);
        String key = line.substring(i, eq).trim();
        if (!key.matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
          throw new IllegalArgumentException("bad label name " + key);
        }
        i = eq + 1;
        if (line.charAt(i) != '"') {
          throw new IllegalArgumentException("label value must be quoted");
        }
        i++;
        StringBuilder v = new StringBuilder();
        while (line.charAt(i) != '"') {
          char c = line.charAt(i);
          if (c == '\\') {
            char e = line.charAt(i + 1);
            v.append(e == 'n' ? '\n' : e);
            i += 2;
          } else {
            v.append(c);
            i++;
          }
        }
        i++;
        if (labels.put(key, v.toString()) != null) {
          throw new IllegalArgumentException("label " + key + " twice");
        }
        if (line.charAt(i) == ',') {
          i++;
        }
      }
    }
    String[] rest = line.substring(i).trim().split(" +");
    if (rest.length < 1 || rest.length > 2 || rest[0].isEmpty()) {
      throw new IllegalArgumentException("expected a value and an optional timestamp");
    }
    if (rest.length == 2) {
      Long.parseLong(rest[1]);
    }
    return new Sample(name, labels, number(rest[0]));
  }

  private static double number(String s) {
    switch (s) {
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      case "NaN":
        return Double.NaN;
      default:
        return Double.parseDouble(s);
    }
  }
}
