package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.aiphub.server.config.Settings.CLUSTER_RENEW_INTERVAL;
import static org.aiphub.server.config.Settings.HOST;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.aiphub.core.registry.DuplicatePolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The settings table itself: each key declared once and listed, defaults and sections that agree
 * with it, names derived from the key, and secrets that never show.
 */
class SettingsTest {

  static List<Setting<?>> all() {
    return Settings.all();
  }

  /** A value other than the default for every key; together they make a valid config. */
  private static Map<Setting<?>, Object> nonDefaults() {
    Map<Setting<?>, Object> m = new LinkedHashMap<>();
    m.put(Settings.HOST, "10.0.0.1");
    m.put(Settings.PORT, 6001);
    m.put(Settings.WS_PATH, "/aip");
    m.put(Settings.API_KEY, "table-key-0123456789");
    m.put(Settings.ADMIN_KEY, "table-admin-key-0123456789");
    m.put(Settings.DEVICE_CONFIG, Path.of("devices.yaml"));
    m.put(Settings.DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER);
    m.put(Settings.UNICODE_IDS, Boolean.TRUE);
    m.put(Settings.REGISTRATION_TIMEOUT, Duration.ofSeconds(3));
    m.put(Settings.IDLE_TIMEOUT, Duration.ofMinutes(2));
    m.put(Settings.PING_TIMEOUT, Duration.ofMillis(1500));
    m.put(Settings.MAX_FRAME_BYTES, 8 * 1024 * 1024);
    m.put(Settings.MAX_FRAGMENTS_PER_MESSAGE, 64);
    m.put(Settings.MAX_JSON_DEPTH, 32);
    m.put(Settings.MAX_JSON_TOKENS, 50_000);
    m.put(Settings.MAX_CLIENT_INFO_BYTES, 64 * 1024);
    m.put(Settings.MAX_DEVICE_FEATURES, 64);
    m.put(Settings.MAX_DEVICE_FEATURE_LENGTH, 200);
    m.put(Settings.MAX_BODY_BYTES, 512 * 1024);
    m.put(Settings.BAD_FRAMES_PER_MINUTE, 7);
    m.put(Settings.HISTORY_SIZE, 500);
    m.put(Settings.HISTORY_AGE, Duration.ofHours(2));
    m.put(Settings.SESSION_REQUEST_BYTES, 8L * 1024);
    m.put(Settings.SESSION_RESULT_BYTES, 32L * 1024);
    m.put(Settings.SESSION_BYTES_PER_OWNER, 16L * 1024 * 1024);
    m.put(Settings.SESSION_BYTES, 256L * 1024 * 1024);
    m.put(Settings.HELD_OUTCOMES_PER_OWNER, 50);
    m.put(Settings.HELD_BYTES_PER_OWNER, 8L * 1024 * 1024);
    m.put(Settings.HELD_BYTES, 128L * 1024 * 1024);
    m.put(Settings.HELD_AGE, Duration.ofHours(3));
    m.put(Settings.DEFAULT_MAX_CONCURRENT_TASKS, 3);
    m.put(Settings.BOSS_THREADS, 2);
    m.put(Settings.WORKER_THREADS, 4);
    m.put(Settings.SO_BACKLOG, 128);
    m.put(Settings.WRITE_BUFFER_LOW, 16 * 1024);
    m.put(Settings.WRITE_BUFFER_HIGH, 48 * 1024);
    m.put(Settings.SLOW_CONSUMER_TIMEOUT, Duration.ofSeconds(45));
    m.put(Settings.SLOW_CONSUMER_MAX_BYTES, 1L << 30);
    m.put(Settings.SHUTDOWN_GRACE, Duration.ofSeconds(3));
    m.put(Settings.ALLOWED_ORIGINS, List.of("https://a.example"));
    m.put(Settings.ALLOWED_HOSTS, List.of("hub.example"));
    m.put(Settings.MAX_CONNECTIONS, 5000);
    m.put(Settings.MAX_CONNECTIONS_PER_ADDRESS, 50);
    m.put(Settings.REGISTRATIONS_PER_ADDRESS_PER_SECOND, 5);
    m.put(Settings.MAX_SESSIONS_PER_CONSTELLATION, 20);
    m.put(Settings.HANDSHAKE_TIMEOUT, Duration.ofSeconds(4));
    m.put(Settings.PROBE_TIMEOUT, Duration.ofMillis(750));
    m.put(Settings.TLS_CERT, Path.of("hub.crt"));
    m.put(Settings.TLS_KEY, Path.of("hub.key"));
    m.put(Settings.CLUSTER_REDIS, "redis://127.0.0.1:6390");
    m.put(Settings.CLUSTER_NODE_ID, "node-a");
    m.put(Settings.CLUSTER_LEASE, Duration.ofSeconds(6));
    m.put(Settings.CLUSTER_RENEW_INTERVAL, Duration.ofSeconds(2));
    return m;
  }

  @SuppressWarnings("unchecked") // the map above pairs each setting with a value of its type
  private static <T> void put(HubConfig.Builder b, Setting<T> s, Object value) {
    b.set(s, (T) value);
  }

  // ------------------------------------------------------------------------- declared once

  @Test
  void eachKeyVariableAndFlagIsDeclaredOnce() {
    List<String> keys = all().stream().map(Setting::key).toList();
    assertThat(keys).doesNotHaveDuplicates().isEqualTo(HubConfigLoader.keys());
    assertThat(all().stream().map(Setting::envName).toList()).doesNotHaveDuplicates();
    assertThat(all().stream().map(Setting::flag).toList()).doesNotHaveDuplicates();
    for (String key : keys) {
      assertThat(Settings.byKey(key).key()).isEqualTo(key);
    }
    assertThat(Settings.byKey("prot")).isNull();
  }

  @Test
  void everyConstantIsInTheTableAndTheTableHasNothingElse() throws IllegalAccessException {
    // A constant declared without add() would be a key the loader never reads.
    Set<Setting<?>> constants = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Field f : Settings.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == Setting.class) {
        assertThat(Modifier.isPublic(f.getModifiers())).as(f.getName()).isTrue();
        constants.add((Setting<?>) f.get(null));
      }
    }
    assertThat(constants).hasSameSizeAs(all());
    assertThat(all()).allMatch(constants::contains);
  }

  @Test
  void constantNamesFollowTheirKeys() throws IllegalAccessException {
    for (Field f : Settings.class.getDeclaredFields()) {
      if (f.getType() == Setting.class) {
        Setting<?> s = (Setting<?>) f.get(null);
        assertThat(f.getName()).isEqualTo(s.key().replace('.', '_').toUpperCase(Locale.ROOT));
      }
    }
  }

  @Test
  void namesAreDerivedFromTheKey() {
    assertThat(HOST.envName()).isEqualTo("HUB_HOST");
    assertThat(CLUSTER_REDIS.envName()).isEqualTo("HUB_CLUSTER_REDIS");
    assertThat(API_KEY.flag()).isEqualTo("--api-key");
    assertThat(CLUSTER_RENEW_INTERVAL.flag()).isEqualTo("--cluster-renew-interval");
    for (Setting<?> s : all()) {
      assertThat(s.envName()).isEqualTo(HubConfigLoader.envName(s.key()));
    }
  }

  @Test
  void blamedKeysExist() {
    for (Setting<?> s : all()) {
      if (s.limitedByKey() != null) {
        assertThat(Settings.byKey(s.limitedByKey())).as(s.key()).isNotNull().isNotSameAs(s);
      }
    }
  }

  // ------------------------------------------------------------------ defaults and sections

  @Test
  void theDefaultsAreTheTables() {
    HubConfig d = HubConfig.defaults();
    List<Setting<?>> computed =
        List.of(
            SLOW_CONSUMER_MAX_BYTES,
            Settings.SESSION_BYTES,
            Settings.HELD_BYTES,
            Settings.HELD_AGE);
    for (Setting<?> s : all()) {
      if (computed.contains(s)) {
        assertThat(s.defaultValue()).as(s.key()).isNull();
        continue; // computed by their sections, below
      }
      assertThat((Object) d.get(s)).as(s.key()).isEqualTo(s.defaultValue());
    }
    long eighth = History.defaultShare(Runtime.getRuntime().maxMemory());
    assertThat(d.history().bytes()).isEqualTo(eighth);
    assertThat(d.history().heldBytes()).isEqualTo(eighth);
    assertThat(History.defaultShare(256L * 1024 * 1024)).isEqualTo(32L * 1024 * 1024);
    assertThat(d.history().heldAge()).isEqualTo(d.history().age());
    assertThat(SLOW_CONSUMER_MAX_BYTES.defaultValue()).isNull();
    assertThat(d.limits().slowConsumerMaxBytes())
        .isEqualTo(Limits.slowConsumerMaxBytes(null, MAX_FRAME_BYTES.defaultValue()))
        .isEqualTo(Limits.DEFAULT_SLOW_CONSUMER_MAX_BYTES);
  }

  @Test
  void everySettingLandsWhereItsDeclarationReadsIt() {
    Map<Setting<?>, Object> values = nonDefaults();
    assertThat(values.keySet()).containsExactlyElementsOf(all());
    HubConfig.Builder b = HubConfig.builder();
    values.forEach((s, v) -> put(b, s, v));
    HubConfig c = b.build();
    HubConfig d = HubConfig.defaults();
    for (Setting<?> s : all()) {
      assertThat((Object) c.get(s)).as(s.key()).isEqualTo(values.get(s)).isNotEqualTo(d.get(s));
    }
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @Test
  void eachSettingAloneChangesOnlyItsOwnValue() {
    // Catches two declarations reading the same component, or a section reading the wrong key.
    HubConfig d = HubConfig.defaults();
    Map<Setting<?>, Object> values = nonDefaults();
    for (Setting<?> s : all()) {
      HubConfig.Builder b = HubConfig.builder();
      put(b, s, values.get(s));
      if (s == Settings.TLS_CERT || s == Settings.TLS_KEY) {
        put(b, Settings.TLS_CERT, values.get(Settings.TLS_CERT));
        put(b, Settings.TLS_KEY, values.get(Settings.TLS_KEY));
      }
      HubConfig c = b.build();
      List<String> changed = new ArrayList<>();
      for (Setting<?> other : all()) {
        if (!Objects.equals(c.get(other), d.get(other))) {
          changed.add(other.key());
        }
      }
      List<String> expected =
          switch (s.key()) {
            case "tls_cert", "tls_key" -> List.of("tls_cert", "tls_key");
            // 8 MiB frames raise the computed slow-consumer bound to four of them.
            case "max_frame_bytes" -> List.of("max_frame_bytes", "slow_consumer_max_bytes");
            // An unset held_age follows history_age.
            case "history_age" -> List.of("history_age", "held_age");
            default -> List.of(s.key());
          };
      assertThat(changed).as(s.key()).containsExactlyInAnyOrderElementsOf(expected);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void aNullIsABadValueOrTheDefaultNeverACrash(Setting<?> s) {
    Throwable t = catchThrowable(() -> HubConfig.builder().set(s, null).build());
    if (t != null) {
      assertThat(t).isInstanceOf(ConfigException.class);
      assertThat(((ConfigException) t).key()).isEqualTo(s.key());
      assertThat(t.getMessage()).startsWith(s.key() + ": null (");
    }
  }

  // ------------------------------------------------------------------------------ secrets

  @Test
  void secretsNeverShow() {
    List<Setting<?>> secrets = all().stream().filter(Setting::isSecret).toList();
    assertThat(secrets).containsExactly(API_KEY, Settings.ADMIN_KEY);
    for (Setting<?> s : secrets) {
      Object value = nonDefaults().get(s);
      assertThat(s.invalid(value, "why").getMessage())
          .isEqualTo(s.key() + ": (hidden) (why)")
          .doesNotContain(String.valueOf(value));
      HubConfig.Builder b = HubConfig.builder();
      put(b, s, value);
      HubConfig c = b.build();
      assertThat(c.toString()).contains(s.key() + "=(hidden)").doesNotContain(value.toString());
      assertThat(HubConfig.defaults().toString()).contains(s.key() + "=none");
    }
  }

  @Test
  void aSecretThatFailsToParseIsHiddenToo(@TempDir Path dir) throws IOException {
    for (Setting<?> s : all()) {
      if (s.isSecret()) {
        Path file =
            Files.writeString(dir.resolve(s.envName() + ".yaml"), s.key() + ": [Sx7kQ2pX]\n");
        Throwable t = catchThrowable(() -> HubConfigLoader.load(file, Map.of(), Map.of()));
        assertThat(t).isInstanceOf(ConfigException.class);
        assertThat(t.getMessage()).contains(s.key(), "(hidden)").doesNotContain("Sx7kQ2pX");
      }
    }
  }
}
