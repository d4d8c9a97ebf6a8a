package org.aiphub.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One server setting, declared once in {@link Settings}: its YAML key, how raw text becomes a
 * value, its default, the rules a value must pass, whether it is a secret, and where a built {@link
 * HubConfig} keeps it. The loader (file, {@code HUB_<KEY>} variable, flag), the builder, the
 * defaults and the error messages all read these declarations, so a key is spelt in one place.
 *
 * <p>Instances are immutable; the {@code check}, {@code secret}, {@code limitedBy} and {@code in}
 * methods return changed copies, for use while declaring.
 *
 * @param <T> the value's type as the section record holds it (boxed)
 */
public final class Setting<T> {
  /** Parses a raw value; {@code baseDir} is the config file's directory, or {@code null}. */
  @FunctionalInterface
  interface Parser<T> {
    T parse(Object raw, Path baseDir);
  }

  /**
   * A condition a value must meet, and the reason shown when it does not ("must be at least 1024").
   * Conditions see {@code null} too: a setting whose section cannot hold {@code null} needs a rule
   * that refuses it.
   *
   * @param ok whether a value passes
   * @param why the reason shown when it does not
   * @param <T> the values it judges
   */
  public record Rule<T>(Predicate<? super T> ok, String why) {
    /** Checks the parts. */
    public Rule {
      Objects.requireNonNull(ok, "ok");
      Objects.requireNonNull(why, "why");
    }

    /** A number of at least {@code min}. */
    public static Rule<Number> atLeast(long min) {
      return new Rule<>(v -> v != null && v.longValue() >= min, "must be at least " + min);
    }

    /** A number from {@code min} to {@code max}, both included. */
    public static Rule<Number> between(long min, long max) {
      return new Rule<>(
          v -> v != null && v.longValue() >= min && v.longValue() <= max,
          "must be between " + min + " and " + max);
    }

    /** A duration above zero. */
    public static Rule<Duration> positive() {
      return new Rule<>(
          d -> d != null && !d.isNegative() && !d.isZero(),
          "must be a positive duration such as 10s");
    }
  }

  private final String key;
  private final Parser<T> parser;
  private final T defaultValue;
  private final List<Rule<? super T>> rules;
  private final boolean secret;
  private final boolean required;
  private final String limitedBy;
  private final Function<? super T, String> text;
  private final Function<HubConfig, T> read;

  private Setting(
      String key,
      Parser<T> parser,
      T defaultValue,
      List<Rule<? super T>> rules,
      boolean secret,
      boolean required,
      String limitedBy,
      Function<? super T, String> text,
      Function<HubConfig, T> read) {
    this.key = key;
    this.parser = parser;
    this.defaultValue = defaultValue;
    this.rules = List.copyOf(rules);
    this.secret = secret;
    this.required = required;
    this.limitedBy = limitedBy;
    this.text = text;
    this.read = read;
  }

  /** A setting with a default must always have a value: its section may hold a primitive. */
  private static <T> Setting<T> of(String key, Parser<T> parser, T defaultValue) {
    return new Setting<>(
        key,
        parser,
        defaultValue,
        List.of(),
        false,
        defaultValue != null,
        null,
        String::valueOf,
        null);
  }

  /** Text, any single YAML value. */
  public static Setting<String> string(String key, String defaultValue) {
    return of(key, (raw, dir) -> ValueParsers.scalar(raw), defaultValue);
  }

  /** A whole number. */
  public static Setting<Integer> integer(String key, int defaultValue) {
    return of(key, (raw, dir) -> ValueParsers.integer(raw), defaultValue);
  }

  /** A size below 2 GiB: bytes, or {@code 64KiB}, {@code 4MiB}, {@code 1MB}... */
  public static Setting<Integer> bytes(String key, int defaultValue) {
    return of(key, (raw, dir) -> ValueParsers.intBytes(raw), defaultValue);
  }

  /** A size that may exceed 2 GiB; {@code null} default: none, or computed by its section. */
  public static Setting<Long> longBytes(String key, Long defaultValue) {
    return of(key, (raw, dir) -> ValueParsers.bytes(raw), defaultValue);
  }

  /** A duration: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, a bare number of seconds. */
  public static Setting<Duration> duration(String key, Duration defaultValue) {
    return of(key, (raw, dir) -> ValueParsers.duration(raw), defaultValue);
  }

  /** A file, none by default; relative in a config file means relative to that file. */
  public static Setting<Path> path(String key) {
    return of(key, ValueParsers::path, null);
  }

  /** A list of strings (a YAML list, or comma-separated text), empty by default and for null. */
  public static Setting<List<String>> list(String key) {
    // Not required: null is the empty list, as no value at all is.
    return new Setting<>(
        key,
        (raw, dir) -> ValueParsers.list(raw),
        List.of(),
        List.of(),
        false,
        false,
        null,
        String::valueOf,
        null);
  }

  /**
   * One of a fixed set of words, such as an enum's config spelling.
   *
   * @param parse the value a word names (case as it likes), or {@code null} when none
   * @param word the word for a value, as messages and {@link HubConfig#toString()} show it
   * @param why the reason shown for an unknown word ("must be reject or takeover")
   */
  public static <E> Setting<E> choice(
      String key, E defaultValue, Function<String, E> parse, Function<E, String> word, String why) {
    Parser<E> parser =
        (raw, dir) -> {
          E e = parse.apply(ValueParsers.scalar(raw));
          if (e == null) {
            throw new IllegalArgumentException(why);
          }
          return e;
        };
    return new Setting<E>(key, parser, defaultValue, List.of(), false, true, null, word, null)
        .check(new Rule<>(Objects::nonNull, why));
  }

  /** This setting with one more rule, checked after those before it. */
  public Setting<T> check(Rule<? super T> rule) {
    List<Rule<? super T>> more = new ArrayList<>(rules);
    more.add(Objects.requireNonNull(rule, "rule"));
    return new Setting<>(key, parser, defaultValue, more, secret, required, limitedBy, text, read);
  }

  /** This setting with a rule given as its parts. */
  public Setting<T> check(Predicate<? super T> ok, String why) {
    return check(new Rule<T>(ok, why));
  }

  /** This setting as a secret: messages and {@link HubConfig#toString()} show "(hidden)". */
  public Setting<T> secret() {
    return new Setting<>(key, parser, defaultValue, rules, true, required, limitedBy, text, read);
  }

  /**
   * This setting, checked against {@code otherKey} by its section: when it was left at its default
   * and fails, the loader blames wherever {@code otherKey} was set, since that is what the user has
   * to fix. A key rather than a {@link Setting}, so two settings may name each other.
   */
  public Setting<T> limitedBy(String otherKey) {
    return new Setting<>(key, parser, defaultValue, rules, secret, required, otherKey, text, read);
  }

  /** This setting, kept in a built config where {@code read} finds it. */
  public Setting<T> in(Function<HubConfig, T> read) {
    return new Setting<>(key, parser, defaultValue, rules, secret, required, limitedBy, text, read);
  }

  /** The YAML key: {@code port}, or {@code cluster.redis} for a key in a YAML section. */
  public String key() {
    return key;
  }

  /** The environment variable that sets it: {@code HUB_PORT}, {@code HUB_CLUSTER_REDIS}. */
  public String envName() {
    return HubConfigLoader.envName(key);
  }

  /** The command-line spelling of its key, {@code --api-key}, {@code --cluster-redis}. */
  public String flag() {
    return "--" + key.replace('_', '-').replace('.', '-');
  }

  /** The built-in default; {@code null} means none, or computed by its section from others. */
  public T defaultValue() {
    return defaultValue;
  }

  /** Whether its value is never shown. */
  public boolean isSecret() {
    return secret;
  }

  /** The key whose source is blamed when this one fails at its default, or {@code null}. */
  String limitedByKey() {
    return limitedBy;
  }

  /** Its value in {@code config}. */
  public T read(HubConfig config) {
    return read.apply(config);
  }

  /** Whether a value can fail {@link #check}: it has rules, or must not be {@code null}. */
  boolean checked() {
    return required || !rules.isEmpty();
  }

  /** Whether the declaration says where a built config keeps it (the table insists). */
  boolean readable() {
    return read != null;
  }

  /** The value as messages and {@link HubConfig#toString()} may show it. */
  public String show(T value) {
    if (secret) {
      return value == null ? "none" : "(hidden)";
    }
    return value == null ? "none" : text.apply(value);
  }

  /** Parses a raw value; {@link IllegalArgumentException} says what form was expected. */
  T parse(Object raw, Path baseDir) {
    return parser.parse(raw, baseDir);
  }

  /** {@code value} when it passes every rule; otherwise a {@link ConfigException} for the first. */
  T check(T value) {
    for (Rule<? super T> r : rules) {
      if (!r.ok().test(value)) {
        throw invalid(value, r.why());
      }
    }
    // Last, so a rule's own reason wins: "null (must be a positive duration such as 10s)".
    if (required && value == null) {
      throw invalid(null, "must be set");
    }
    return value;
  }

  /** "key: value (why)", the value hidden for a secret: for checks that span several keys. */
  ConfigException invalid(Object value, String why) {
    return ConfigException.invalid(key, secret ? "(hidden)" : value, why);
  }

  /** The key, as a debugging aid; never a value. */
  @Override
  public String toString() {
    return "Setting[" + key + (secret ? ", secret" : "") + "]";
  }
}
