package org.aiphub.server.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * <p>The keys, how each value is parsed and which are secret come from the table in {@link
 * Settings}. Every problem is a {@link ConfigException} whose message names the source (file,
 * variable or flag), the key and the value. Unknown keys in the file are errors; unrelated {@code
 * HUB_*} variables are ignored, since other tools use that prefix too.
 */
public final class HubConfigLoader {
  /** Prefix of the environment variables the loader reads. */
  public static final String ENV_PREFIX = "HUB_";

  private final HubConfig.Builder builder = HubConfig.builder();
  private final Map<String, String> sources = new HashMap<>();

  private HubConfigLoader() {}

  /** Every key the config understands, in the settings table's order. */
  public static List<String> keys() {
    return Settings.all().stream().map(Setting::key).toList();
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
    for (Setting<?> s : Settings.all()) {
      String v = env.get(s.envName());
      if (v != null) {
        l.set(s, v, "environment variable " + s.envName(), null);
      }
    }
    for (Map.Entry<String, String> f : flags.entrySet()) {
      Setting<?> s = Settings.byKey(f.getKey());
      if (s == null) {
        throw new ConfigException("unknown setting '" + f.getKey() + "'");
      }
      if (f.getValue() != null) {
        l.set(s, f.getValue(), "flag " + s.flag(), null);
      }
    }
    try {
      return new Loaded(l.builder.build(), l.sources);
    } catch (ConfigException e) {
      String source = e.key() == null ? null : l.sources.get(e.key());
      Setting<?> failed = e.key() == null ? null : Settings.byKey(e.key());
      String related = failed == null ? null : failed.limitedByKey();
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
      Setting<?> s = Settings.byKey(key);
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
          e.getValue() instanceof Map && keys().stream().anyMatch(k -> k.startsWith(key + "."));
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

  private <T> void set(Setting<T> s, Object raw, String source, Path baseDir) {
    T value;
    try {
      value = s.parse(raw, baseDir);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new ConfigException(
          source
              + ": "
              + s.key()
              + ": "
              + ConfigException.show(s.isSecret() ? "(hidden)" : raw)
              + " ("
              + e.getMessage()
              + ")");
    }
    // Only parsed here: a value is judged by build(), once every layer has had its say.
    builder.set(s, value);
    sources.put(s.key(), source);
  }
}
