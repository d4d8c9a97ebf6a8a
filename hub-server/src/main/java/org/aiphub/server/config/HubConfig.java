package org.aiphub.server.config;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Every server setting, in immutable sections that validate themselves: a bad value throws a {@link
 * ConfigException} naming the key and the value. Each key is declared once, in {@link Settings},
 * with its default and rules; {@link #builder()} sets keys by those declarations, and {@link
 * #defaults()} gives the embedded defaults documented in {@code config/hub.yaml}.
 *
 * <pre>{@code
 * HubConfig c = HubConfig.builder().set(Settings.MAX_FRAME_BYTES, 8192).build();
 * int max = c.limits().maxFrameBytes();
 * }</pre>
 *
 * @param listen address, port, WebSocket path and threads
 * @param security the API key, and the origins and host names accepted
 * @param devices the device config file and the duplicate-id policy
 * @param timeouts how long each wait may take
 * @param limits input sizes, per-client queues, connection and session limits
 * @param budgets what one frame may cost to decode and what the hub caches per client
 * @param history finished sessions kept
 * @param tls certificate and key, when the hub serves wss:// and https://
 * @param cluster the Redis backplane and lease, in cluster mode
 */
public record HubConfig(
    Listen listen,
    Security security,
    Devices devices,
    Timeouts timeouts,
    Limits limits,
    Budgets budgets,
    History history,
    Tls tls,
    Cluster cluster) {

  /** Requires every section; each section has validated itself. */
  public HubConfig {
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(security, "security");
    Objects.requireNonNull(devices, "devices");
    Objects.requireNonNull(timeouts, "timeouts");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(budgets, "budgets");
    Objects.requireNonNull(history, "history");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(cluster, "cluster");
  }

  /** The embedded defaults: loopback, port 5000, {@code /ws}, no key yet, no device config. */
  public static HubConfig defaults() {
    return builder().build();
  }

  /** A builder preset with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder preset with this config's values (a computed one included, as it now stands). */
  public Builder toBuilder() {
    Builder b = new Builder();
    for (Setting<?> s : Settings.all()) {
      copy(s, b);
    }
    return b;
  }

  private <T> void copy(Setting<T> s, Builder b) {
    b.set(s, s.read(this));
  }

  /** The value of one setting, as its section holds it. */
  public <T> T get(Setting<T> setting) {
    return setting.read(this);
  }

  /** The same config with another API key (start-up generates one when none is configured). */
  public HubConfig withApiKey(String key) {
    return toBuilder().set(Settings.API_KEY, key).build();
  }

  /** Every setting by its key, secrets hidden: configs get logged, keys must not. */
  @Override
  public String toString() {
    return Settings.all().stream()
        .map(s -> s.key() + "=" + shown(s))
        .collect(Collectors.joining(", ", "HubConfig[", "]"));
  }

  private <T> String shown(Setting<T> s) {
    return s.show(s.read(this));
  }

  /**
   * Collects values by setting; {@link #build()} validates them all, so a value a later call
   * overrides is never judged. Settings left alone keep their defaults.
   */
  public static final class Builder {
    // null is a value too ("no key", or a mistake the checks report); absent means the default.
    private final Map<Setting<?>, Object> values = new HashMap<>();

    Builder() {}

    /** Sets one setting; checked by {@link #build()}. */
    public <T> Builder set(Setting<T> setting, T value) {
      values.put(Objects.requireNonNull(setting, "setting"), value);
      return this;
    }

    /** The value {@link #build()} would use: the one set, or the default. */
    @SuppressWarnings("unchecked") // set() only stores a T under a Setting<T>
    public <T> T get(Setting<T> setting) {
      return values.containsKey(setting) ? (T) values.get(setting) : setting.defaultValue();
    }

    /** Validates and builds. */
    public HubConfig build() {
      // A null where a section holds a primitive would fail as an unboxing error; report it as
      // the bad value it is, in the table's order.
      for (Setting<?> s : Settings.all()) {
        if (values.containsKey(s) && values.get(s) == null) {
          s.check(null);
        }
      }
      return new HubConfig(
          Listen.from(this),
          Security.from(this),
          Devices.from(this),
          Timeouts.from(this),
          Limits.from(this),
          Budgets.from(this),
          History.from(this),
          Tls.from(this),
          Cluster.from(this));
    }
  }
}
