package org.aiphub.server.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.core.registry.DuplicatePolicy;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Builds a {@link HubConfig} from four layers, each overriding the one before: built-in defaults,
 * the YAML config file ({@code --config}), environment variables ({@code HUB_PORT}, {@code
 * HUB_API_KEY}, ... one per key, upper-cased with a {@code HUB_} prefix) and command-line flags.
 *
 * <p>Every problem is a {@link ConfigException} whose message names the source (file, variable or
 * flag), the key and the value. Unknown keys in the file are errors; unrelated {@code HUB_*}
 * variables are ignored, since other tools use that prefix too.
 */
public final class HubConfigLoader {
  /** Prefix of the environment variables the loader reads. */
  public static final String ENV_PREFIX = "HUB_";

  private enum Kind {
    STRING,
    INT,
    BYTES,
    DURATION,
    PATH,
    POLICY,
    LIST
  }

  private record Setting(String key, Kind kind, BiConsumer<HubConfig.Builder, Object> apply) {}

  private static final Map<String, Setting> SETTINGS = new LinkedHashMap<>();

  /** Keys whose validity depends on another key (see {@link HubConfig}'s checks). */
  private static final Map<String, String> LIMITED_BY =
      Map.of(
          "write_buffer_high", "write_buffer_low",
          "slow_consumer_max_bytes", "write_buffer_high",
          "tls_cert", "tls_key",
          "tls_key", "tls_cert");

  static {
    add("host", Kind.STRING, (b, v) -> b.host((String) v));
    add("port", Kind.INT, (b, v) -> b.port((Integer) v));
    add("ws_path", Kind.STRING, (b, v) -> b.wsPath((String) v));
    add("api_key", Kind.STRING, (b, v) -> b.apiKey((String) v));
    add("device_config", Kind.PATH, (b, v) -> b.deviceConfig((Path) v));
    add("duplicate_policy", Kind.POLICY, (b, v) -> b.duplicatePolicy((DuplicatePolicy) v));
    add("registration_timeout", Kind.DURATION, (b, v) -> b.registrationTimeout((Duration) v));
    add("idle_timeout", Kind.DURATION, (b, v) -> b.idleTimeout((Duration) v));
    add("ping_timeout", Kind.DURATION, (b, v) -> b.pingTimeout((Duration) v));
    add("max_frame_bytes", Kind.BYTES, (b, v) -> b.maxFrameBytes(toInt(v)));
    add("max_fragments_per_message", Kind.INT, (b, v) -> b.maxFragmentsPerMessage((Integer) v));
    add("max_json_depth", Kind.INT, (b, v) -> b.maxJsonDepth((Integer) v));
    add("max_body_bytes", Kind.BYTES, (b, v) -> b.maxBodyBytes(toInt(v)));
    add("bad_frames_per_minute", Kind.INT, (b, v) -> b.badFramesPerMinute((Integer) v));
    add("history_size", Kind.INT, (b, v) -> b.historySize((Integer) v));
    add("history_age", Kind.DURATION, (b, v) -> b.historyAge((Duration) v));
    add(
        "default_max_concurrent_tasks",
        Kind.INT,
        (b, v) -> b.defaultMaxConcurrentTasks((Integer) v));
    add("boss_threads", Kind.INT, (b, v) -> b.bossThreads((Integer) v));
    add("worker_threads", Kind.INT, (b, v) -> b.workerThreads((Integer) v));
    add("so_backlog", Kind.INT, (b, v) -> b.soBacklog((Integer) v));
    add("write_buffer_low", Kind.BYTES, (b, v) -> b.writeBufferLow(toInt(v)));
    add("write_buffer_high", Kind.BYTES, (b, v) -> b.writeBufferHigh(toInt(v)));
    add("slow_consumer_timeout", Kind.DURATION, (b, v) -> b.slowConsumerTimeout((Duration) v));
    add("slow_consumer_max_bytes", Kind.BYTES, (b, v) -> b.slowConsumerMaxBytes((Long) v));
    add("shutdown_grace", Kind.DURATION, (b, v) -> b.shutdownGrace((Duration) v));
    @SuppressWarnings("unchecked")
    BiConsumer<HubConfig.Builder, Object> origins = (b, v) -> b.allowedOrigins((List<String>) v);
    add("allowed_origins", Kind.LIST, origins);
    @SuppressWarnings("unchecked")
    BiConsumer<HubConfig.Builder, Object> hosts = (b, v) -> b.allowedHosts((List<String>) v);
    add("allowed_hosts", Kind.LIST, hosts);
    add("max_connections", Kind.INT, (b, v) -> b.maxConnections((Integer) v));
    add("max_connections_per_address", Kind.INT, (b, v) -> b.maxConnectionsPerAddress((Integer) v));
    add(
        "registrations_per_address_per_second",
        Kind.INT,
        (b, v) -> b.registrationsPerAddressPerSecond((Integer) v));
    add(
        "max_sessions_per_constellation",
        Kind.INT,
        (b, v) -> b.maxSessionsPerConstellation((Integer) v));
    add("handshake_timeout", Kind.DURATION, (b, v) -> b.handshakeTimeout((Duration) v));
    add("probe_timeout", Kind.DURATION, (b, v) -> b.probeTimeout((Duration) v));
    add("tls_cert", Kind.PATH, (b, v) -> b.tlsCert((Path) v));
    add("tls_key", Kind.PATH, (b, v) -> b.tlsKey((Path) v));
    add("cluster.redis", Kind.STRING, (b, v) -> b.clusterRedis((String) v));
    add("cluster.node_id", Kind.STRING, (b, v) -> b.clusterNodeId((String) v));
    add("cluster.lease", Kind.DURATION, (b, v) -> b.clusterLease((Duration) v));
    add("cluster.renew_interval", Kind.DURATION, (b, v) -> b.clusterRenewInterval((Duration) v));
  }

  private static void add(String key, Kind kind, BiConsumer<HubConfig.Builder, Object> apply) {
    SETTINGS.put(key, new Setting(key, kind, apply));
  }

  private final HubConfig.Builder builder = HubConfig.builder();
  private final Map<String, String> sources = new HashMap<>();

  private HubConfigLoader() {}

  /** Every key the config understands, in documentation order. */
  public static List<String> keys() {
    return List.copyOf(SETTINGS.keySet());
  }

  /** The environment variable that sets {@code key}, e.g. {@code HUB_API_KEY}. */
  public static String envName(String key) {
    return ENV_PREFIX + key.replace('.', '_').toUpperCase(Locale.ROOT);
  }

  /**
   * Loads the layers.
   *
   * @param file the YAML config file, or {@code null}
   * @param env the environment (only {@code HUB_<KEY>} variables of known keys are read)
   * @param flags values from command-line flags, by config key
   */
  public static HubConfig load(Path file, Map<String, String> env, Map<String, String> flags) {
    return loadWithSources(file, env, flags).config();
  }

  /**
   * A loaded config and where each key that is not a default was set, so a problem found later (a
   * port in use, a device config that fails to load) can still name its source.
   *
   * @param config the config
   * @param sources by key: the flag, environment variable or file (and key) that set it
   */
  public record Loaded(HubConfig config, Map<String, String> sources) {
    /** Copies the sources. */
    public Loaded {
      sources = Map.copyOf(sources);
    }

    /** {@code e} with the source of its key in front ({@code default} when none set it). */
    public ConfigException locate(ConfigException e) {
      if (e.key() == null) {
        return e;
      }
      return e.from(sources.getOrDefault(e.key(), "default"));
    }
  }

  /** Same as {@link #load}, keeping where each key was set. */
  public static Loaded loadWithSources(
      Path file, Map<String, String> env, Map<String, String> flags) {
    HubConfigLoader l = new HubConfigLoader();
    if (file != null) {
      l.readFile(file);
    }
    for (Setting s : SETTINGS.values()) {
      String v = env.get(envName(s.key()));
      if (v != null) {
        l.set(s, v, "environment variable " + envName(s.key()), null);
      }
    }
    for (Map.Entry<String, String> f : flags.entrySet()) {
      Setting s = SETTINGS.get(f.getKey());
      if (s == null) {
        throw new ConfigException("unknown setting '" + f.getKey() + "'");
      }
      if (f.getValue() != null) {
        l.set(s, f.getValue(), "flag --" + f.getKey().replace('_', '-').replace('.', '-'), null);
      }
    }
    try {
      return new Loaded(l.builder.build(), l.sources);
    } catch (ConfigException e) {
      String source = e.key() == null ? null : l.sources.get(e.key());
      String related = e.key() == null ? null : LIMITED_BY.get(e.key());
      if (source == null && related != null) {
        // The key kept its default and fails a limit set by another key: blame where that was set.
        source = l.sources.get(related);
      }
      throw source == null ? e.from("default") : e.from(source);
    }
  }

  private void readFile(Path file) {
    String where = "config file " + file;
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(where + ": file not found", e);
    } catch (IOException | SecurityException e) {
      throw new ConfigException(where + ": cannot read file (" + e + ")", e);
    }
    Object root;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      root = new Yaml(new SafeConstructor(options)).load(text);
    } catch (MarkedYAMLException e) {
      throw new ConfigException(
          where
              + ": line "
              + (e.getProblemMark().getLine() + 1)
              + ": invalid YAML: "
              + e.getProblem(),
          e);
    } catch (YAMLException e) {
      throw new ConfigException(where + ": invalid YAML: " + e.getMessage(), e);
    }
    if (root == null) {
      return; // an empty file changes nothing
    }
    if (!(root instanceof Map)) {
      throw new ConfigException(where + ": top level must be a mapping of setting to value");
    }
    Path dir = file.toAbsolutePath().getParent();
    for (Map.Entry<String, Object> e : flatten((Map<?, ?>) root).entrySet()) {
      String key = e.getKey();
      Setting s = SETTINGS.get(key);
      if (s == null) {
        throw new ConfigException(
            where
                + ": unknown key '"
                + key
                + "' (value not shown: a misspelt key may hold a secret; known keys: "
                + String.join(", ", keys())
                + ")");
      }
      if (e.getValue() != null) {
        set(s, e.getValue(), where + ": key '" + key + "'", dir);
      }
    }
  }

  /**
   * Flattens sections one level deep: {@code cluster: {redis: X}} becomes {@code cluster.redis}.
   * Only mappings whose name is a section prefix of known keys are sections; other mappings stay
   * values, so their type errors name the key.
   */
  static Map<String, Object> flatten(Map<?, ?> root) {
    Map<String, Object> flat = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : root.entrySet()) {
      String key = String.valueOf(e.getKey());
      boolean section =
          e.getValue() instanceof Map
              && SETTINGS.keySet().stream().anyMatch(k -> k.startsWith(key + "."));
      if (section) {
        for (Map.Entry<?, ?> sub : ((Map<?, ?>) e.getValue()).entrySet()) {
          flat.put(key + "." + sub.getKey(), sub.getValue());
        }
      } else {
        flat.put(key, e.getValue());
      }
    }
    return flat;
  }

  private void set(Setting s, Object raw, String source, Path baseDir) {
    try {
      s.apply().accept(builder, parse(s.kind(), raw, baseDir));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new ConfigException(
          source
              + ": "
              + s.key()
              + ": "
              + ConfigException.show(shown(s, raw))
              + " ("
              + e.getMessage()
              + ")");
    }
    sources.put(s.key(), source);
  }

  private static Object shown(Setting s, Object raw) {
    return s.key().equals("api_key") ? "(hidden)" : raw;
  }

  private static Object parse(Kind kind, Object raw, Path baseDir) {
    switch (kind) {
      case STRING:
        if (raw instanceof Map || raw instanceof List) {
          throw new IllegalArgumentException("must be a single value");
        }
        return String.valueOf(raw);
      case INT:
        return parseInt(raw);
      case BYTES:
        return parseBytes(raw);
      case DURATION:
        return parseDuration(raw);
      case PATH:
        {
          Path p = Path.of(scalar(raw));
          return baseDir != null && !p.isAbsolute() ? baseDir.resolve(p).normalize() : p;
        }
      case POLICY:
        {
          DuplicatePolicy p = DuplicatePolicy.fromWire(scalar(raw));
          if (p == null) {
            throw new IllegalArgumentException("must be reject or takeover");
          }
          return p;
        }
      case LIST:
        {
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
      default:
        throw new IllegalStateException("unknown kind " + kind);
    }
  }

  private static String scalar(Object raw) {
    if (raw instanceof Map || raw instanceof List) {
      throw new IllegalArgumentException("must be a single value");
    }
    return String.valueOf(raw);
  }

  private static int parseInt(Object raw) {
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

  private static final Pattern SIZE =
      Pattern.compile("(?i)^\\s*(\\d+)\\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?\\s*$");
  private static final Pattern SPAN = Pattern.compile("(?i)^\\s*(\\d+)\\s*(ms|s|m|h|d)?\\s*$");

  /** Bytes: an integer, or a number with KiB/MiB/GiB (1024-based) or KB/MB/GB (1000-based). */
  static long parseBytes(Object raw) {
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

  private static int toInt(Object bytes) {
    long v = (Long) bytes;
    if (v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("must be below 2 GiB");
    }
    return (int) v;
  }

  /** A duration: seconds as an integer, {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, ISO. */
  static Duration parseDuration(Object raw) {
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
}
