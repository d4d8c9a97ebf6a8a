package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.ALLOWED_HOSTS;
import static org.aiphub.server.config.Settings.ALLOWED_ORIGINS;
import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.BAD_FRAMES_PER_MINUTE;
import static org.aiphub.server.config.Settings.BOSS_THREADS;
import static org.aiphub.server.config.Settings.CLUSTER_LEASE;
import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.aiphub.server.config.Settings.CLUSTER_RENEW_INTERVAL;
import static org.aiphub.server.config.Settings.DEFAULT_MAX_CONCURRENT_TASKS;
import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.aiphub.server.config.Settings.HANDSHAKE_TIMEOUT;
import static org.aiphub.server.config.Settings.HISTORY_AGE;
import static org.aiphub.server.config.Settings.HISTORY_SIZE;
import static org.aiphub.server.config.Settings.HOST;
import static org.aiphub.server.config.Settings.IDLE_TIMEOUT;
import static org.aiphub.server.config.Settings.MAX_BODY_BYTES;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS_PER_ADDRESS;
import static org.aiphub.server.config.Settings.MAX_FRAGMENTS_PER_MESSAGE;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.aiphub.server.config.Settings.MAX_JSON_DEPTH;
import static org.aiphub.server.config.Settings.MAX_SESSIONS_PER_CONSTELLATION;
import static org.aiphub.server.config.Settings.PING_TIMEOUT;
import static org.aiphub.server.config.Settings.PORT;
import static org.aiphub.server.config.Settings.PROBE_TIMEOUT;
import static org.aiphub.server.config.Settings.REGISTRATIONS_PER_ADDRESS_PER_SECOND;
import static org.aiphub.server.config.Settings.REGISTRATION_TIMEOUT;
import static org.aiphub.server.config.Settings.SHUTDOWN_GRACE;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.aiphub.server.config.Settings.SO_BACKLOG;
import static org.aiphub.server.config.Settings.TLS_CERT;
import static org.aiphub.server.config.Settings.TLS_KEY;
import static org.aiphub.server.config.Settings.UNICODE_IDS;
import static org.aiphub.server.config.Settings.WORKER_THREADS;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_HIGH;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_LOW;
import static org.aiphub.server.config.Settings.WS_PATH;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.aiphub.core.registry.DuplicatePolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.Yaml;

/**
 * {@link HubConfigLoader}: the repository's {@code config/hub.yaml}, the four layers and their
 * precedence, every value type, and error messages that name the source, the key and the value
 * (never the API key).
 */
class HubConfigLoaderTest {
  private static final Map<String, String> NONE = Map.of();

  @TempDir Path dir;

  // ------------------------------------------------------------------------------- helpers

  /** The repository's config/hub.yaml (the build puts it on the test class path). */
  static Path repoHubYaml() {
    URL url = HubConfigLoaderTest.class.getResource("/config/hub.yaml");
    assertThat(url).as("the repository's config/hub.yaml on the test class path").isNotNull();
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  private Path yaml(String text) {
    return yaml("hub.yaml", text);
  }

  private Path yaml(String name, String text) {
    try {
      Path p = dir.resolve(name);
      Files.createDirectories(p.getParent());
      Files.writeString(p, text);
      return p;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static HubConfig load(Path file) {
    return HubConfigLoader.load(file, NONE, NONE);
  }

  private static HubConfig env(String key, String value) {
    return HubConfigLoader.load(null, Map.of(HubConfigLoader.envName(key), value), NONE);
  }

  private static ConfigException failure(
      Path file, Map<String, String> env, Map<String, String> f) {
    ConfigException e =
        catchThrowableOfType(ConfigException.class, () -> HubConfigLoader.load(file, env, f));
    assertThat(e).as("the load must fail with a ConfigException").isNotNull();
    assertThat(e.getMessage()).as("one line").doesNotContain("\n");
    return e;
  }

  private static String fileFailure(Path file) {
    return failure(file, NONE, NONE).getMessage();
  }

  private static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }

  // ----------------------------------------------------------------- the repository's file

  @Test
  void repoHubYamlLoadsCleanlyAndEqualsTheDefaultsExceptDeviceConfig() throws IOException {
    Path conf = Files.createDirectories(dir.resolve("etc"));
    Path copy = Files.copy(repoHubYaml(), conf.resolve("hub.yaml"));

    HubConfig loaded = load(copy);

    Path expectedDevices = conf.toAbsolutePath().resolve("device_config.yaml");
    assertThat(loaded.devices().configFile()).isEqualTo(expectedDevices);
    assertThat(loaded.devices().configFile().isAbsolute()).isTrue();
    assertThat(loaded)
        .isEqualTo(HubConfig.defaults().toBuilder().set(DEVICE_CONFIG, expectedDevices).build());
    assertThat(loaded.security().apiKey()).as("api_key is left empty in hub.yaml").isNull();
  }

  @Test
  void repoHubYamlDocumentsEveryKeyTheLoaderKnowsAndNoOther() throws IOException {
    Map<?, ?> root =
        HubConfigLoader.flatten(new Yaml().<Map<?, ?>>load(Files.readString(repoHubYaml())));
    assertThat(root.keySet().stream().map(String::valueOf).toList())
        .containsExactlyInAnyOrderElementsOf(HubConfigLoader.keys());
    assertThat(HubConfigLoader.keys()).doesNotHaveDuplicates();
  }

  @Test
  void repoHubYamlDocumentsTheDefaultOfEveryKey() throws IOException {
    // Each documented value, fed through the environment, gives the same config as the default:
    // the file is a faithful reference of the defaults, whatever the layer.
    Map<?, ?> root =
        HubConfigLoader.flatten(new Yaml().<Map<?, ?>>load(Files.readString(repoHubYaml())));
    Map<String, String> env = new HashMap<>();
    root.forEach(
        (k, v) -> {
          if (v != null && !"device_config".equals(k)) {
            env.put(
                HubConfigLoader.envName(String.valueOf(k)),
                v instanceof List
                    ? String.join(",", ((List<?>) v).stream().map(String::valueOf).toList())
                    : String.valueOf(v));
          }
        });
    assertThat(env).containsKeys("HUB_PORT", "HUB_HOST", "HUB_MAX_FRAME_BYTES", "HUB_IDLE_TIMEOUT");
    assertThat(HubConfigLoader.load(null, env, NONE)).isEqualTo(HubConfig.defaults());
  }

  @Test
  void emptyAndCommentOnlyFilesChangeNothing() {
    assertThat(load(yaml("empty.yaml", ""))).isEqualTo(HubConfig.defaults());
    assertThat(load(yaml("comments.yaml", "# nothing here\n\n# at all\n")))
        .isEqualTo(HubConfig.defaults());
    assertThat(load(yaml("nulls.yaml", "api_key:\nport:\n"))).isEqualTo(HubConfig.defaults());
  }

  @Test
  void envNamesAreUpperCasedWithThePrefix() {
    assertThat(HubConfigLoader.envName("api_key")).isEqualTo("HUB_API_KEY");
    assertThat(HubConfigLoader.envName("port")).isEqualTo("HUB_PORT");
    assertThat(HubConfigLoader.envName("write_buffer_high")).isEqualTo("HUB_WRITE_BUFFER_HIGH");
  }

  // ------------------------------------------------------------------- every key, every layer

  enum Layer {
    FILE,
    ENV,
    FLAG
  }

  /** A non-default value for every key, in the string form all three layers accept. */
  private Map<String, String> nonDefaults() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("host", "10.0.0.1");
    m.put("port", "6001");
    m.put("ws_path", "/aip");
    m.put("api_key", "layer-key-0123456789");
    m.put("admin_key", "layer-admin-key-0123456789");
    m.put("device_config", dir.toAbsolutePath().resolve("devices.yaml").toString());
    m.put("duplicate_policy", "takeover");
    m.put("unicode_ids", "true");
    m.put("registration_timeout", "3s");
    m.put("idle_timeout", "2m");
    m.put("ping_timeout", "1500ms");
    m.put("max_frame_bytes", "8MiB");
    m.put("max_fragments_per_message", "64");
    m.put("max_json_depth", "32");
    m.put("max_json_tokens", "50000");
    m.put("max_client_info_bytes", "64KiB");
    m.put("max_device_features", "64");
    m.put("max_device_feature_length", "200");
    m.put("max_body_bytes", "512KiB");
    m.put("bad_frames_per_minute", "7");
    m.put("history_size", "500");
    m.put("history_age", "2h");
    m.put("session_request_bytes", "8KiB");
    m.put("session_result_bytes", "32KiB");
    m.put("session_bytes_per_owner", "16MiB");
    m.put("session_bytes", "256MiB");
    m.put("held_outcomes_per_owner", "50");
    m.put("held_bytes_per_owner", "8MiB");
    m.put("held_bytes", "128MiB");
    m.put("held_age", "3h");
    m.put("default_max_concurrent_tasks", "3");
    m.put("boss_threads", "2");
    m.put("worker_threads", "4");
    m.put("so_backlog", "128");
    m.put("write_buffer_low", "16KiB");
    m.put("write_buffer_high", "48KiB");
    m.put("slow_consumer_timeout", "45s");
    m.put("slow_consumer_max_bytes", "1GiB");
    m.put("shutdown_grace", "PT3S");
    m.put("allowed_origins", "https://a.example,https://b.example");
    m.put("allowed_hosts", "hub.example,*.internal");
    m.put("max_connections", "5000");
    m.put("max_connections_per_address", "50");
    m.put("registrations_per_address_per_second", "5");
    m.put("max_sessions_per_constellation", "20");
    m.put("handshake_timeout", "4s");
    m.put("probe_timeout", "750ms");
    m.put("tls_cert", dir.toAbsolutePath().resolve("hub.crt").toString());
    m.put("tls_key", dir.toAbsolutePath().resolve("hub.key").toString());
    m.put("cluster.redis", "redis://127.0.0.1:6390");
    m.put("cluster.node_id", "node-a");
    m.put("cluster.lease", "6s");
    m.put("cluster.renew_interval", "2s");
    return m;
  }

  private HubConfig expectedNonDefaults() {
    return HubConfig.builder()
        .set(HOST, "10.0.0.1")
        .set(PORT, 6001)
        .set(WS_PATH, "/aip")
        .set(API_KEY, "layer-key-0123456789")
        .set(Settings.ADMIN_KEY, "layer-admin-key-0123456789")
        .set(DEVICE_CONFIG, dir.toAbsolutePath().resolve("devices.yaml"))
        .set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER)
        .set(UNICODE_IDS, true)
        .set(REGISTRATION_TIMEOUT, Duration.ofSeconds(3))
        .set(IDLE_TIMEOUT, Duration.ofMinutes(2))
        .set(PING_TIMEOUT, Duration.ofMillis(1500))
        .set(MAX_FRAME_BYTES, 8 * 1024 * 1024)
        .set(MAX_FRAGMENTS_PER_MESSAGE, 64)
        .set(MAX_JSON_DEPTH, 32)
        .set(Settings.MAX_JSON_TOKENS, 50_000)
        .set(Settings.MAX_CLIENT_INFO_BYTES, 64 * 1024)
        .set(Settings.MAX_DEVICE_FEATURES, 64)
        .set(Settings.MAX_DEVICE_FEATURE_LENGTH, 200)
        .set(MAX_BODY_BYTES, 512 * 1024)
        .set(BAD_FRAMES_PER_MINUTE, 7)
        .set(HISTORY_SIZE, 500)
        .set(HISTORY_AGE, Duration.ofHours(2))
        .set(Settings.SESSION_REQUEST_BYTES, 8L * 1024)
        .set(Settings.SESSION_RESULT_BYTES, 32L * 1024)
        .set(Settings.SESSION_BYTES_PER_OWNER, 16L * 1024 * 1024)
        .set(Settings.SESSION_BYTES, 256L * 1024 * 1024)
        .set(Settings.HELD_OUTCOMES_PER_OWNER, 50)
        .set(Settings.HELD_BYTES_PER_OWNER, 8L * 1024 * 1024)
        .set(Settings.HELD_BYTES, 128L * 1024 * 1024)
        .set(Settings.HELD_AGE, Duration.ofHours(3))
        .set(DEFAULT_MAX_CONCURRENT_TASKS, 3)
        .set(BOSS_THREADS, 2)
        .set(WORKER_THREADS, 4)
        .set(SO_BACKLOG, 128)
        .set(WRITE_BUFFER_LOW, 16 * 1024)
        .set(WRITE_BUFFER_HIGH, 48 * 1024)
        .set(SLOW_CONSUMER_TIMEOUT, Duration.ofSeconds(45))
        .set(SLOW_CONSUMER_MAX_BYTES, 1024L * 1024 * 1024)
        .set(SHUTDOWN_GRACE, Duration.ofSeconds(3))
        .set(ALLOWED_ORIGINS, List.of("https://a.example", "https://b.example"))
        .set(ALLOWED_HOSTS, List.of("hub.example", "*.internal"))
        .set(MAX_CONNECTIONS, 5000)
        .set(MAX_CONNECTIONS_PER_ADDRESS, 50)
        .set(REGISTRATIONS_PER_ADDRESS_PER_SECOND, 5)
        .set(MAX_SESSIONS_PER_CONSTELLATION, 20)
        .set(HANDSHAKE_TIMEOUT, Duration.ofSeconds(4))
        .set(PROBE_TIMEOUT, Duration.ofMillis(750))
        .set(TLS_CERT, dir.toAbsolutePath().resolve("hub.crt"))
        .set(TLS_KEY, dir.toAbsolutePath().resolve("hub.key"))
        .set(CLUSTER_REDIS, "redis://127.0.0.1:6390")
        .set(CLUSTER_NODE_ID, "node-a")
        .set(CLUSTER_LEASE, Duration.ofSeconds(6))
        .set(CLUSTER_RENEW_INTERVAL, Duration.ofSeconds(2))
        .build();
  }

  @ParameterizedTest
  @EnumSource(Layer.class)
  void everyKeyCanBeSetFromEveryLayer(Layer layer) {
    Map<String, String> values = nonDefaults();
    assertThat(values.keySet()).containsExactlyElementsOf(HubConfigLoader.keys());
    HubConfig loaded;
    switch (layer) {
      case FILE:
        {
          StringBuilder text = new StringBuilder();
          values.forEach((k, v) -> text.append(k).append(": ").append(v).append('\n'));
          loaded = load(yaml(text.toString()));
          break;
        }
      case ENV:
        {
          Map<String, String> env = new HashMap<>();
          values.forEach((k, v) -> env.put(HubConfigLoader.envName(k), v));
          loaded = HubConfigLoader.load(null, env, NONE);
          break;
        }
      default:
        loaded = HubConfigLoader.load(null, NONE, values);
    }
    assertThat(loaded).isEqualTo(expectedNonDefaults());
  }

  @Test
  void aFileWithNativeYamlTypesLoads() {
    Path file =
        yaml(
            "host: 10.0.0.1\n"
                + "port: 6001\n"
                + "ws_path: /aip\n"
                + "api_key: 'layer-key-0123456789'\n"
                + "admin_key: layer-admin-key-0123456789\n"
                + "device_config: devices.yaml\n"
                + "duplicate_policy: TakeOver\n"
                + "unicode_ids: true\n"
                + "registration_timeout: 3\n"
                + "idle_timeout: 120\n"
                + "ping_timeout: 1500ms\n"
                + "max_frame_bytes: 8388608\n"
                + "max_fragments_per_message: 64\n"
                + "max_json_depth: 32\n"
                + "max_json_tokens: 50000\n"
                + "max_client_info_bytes: 65536\n"
                + "max_device_features: 64\n"
                + "max_device_feature_length: 200\n"
                + "max_body_bytes: 524288\n"
                + "bad_frames_per_minute: 7\n"
                + "history_size: 500\n"
                + "history_age: 2h\n"
                + "session_request_bytes: 8192\n"
                + "session_result_bytes: 32KiB\n"
                + "session_bytes_per_owner: 16777216\n"
                + "session_bytes: 256MiB\n"
                + "held_outcomes_per_owner: 50\n"
                + "held_bytes_per_owner: 8MiB\n"
                + "held_bytes: 134217728\n"
                + "held_age: 10800\n"
                + "default_max_concurrent_tasks: 3\n"
                + "boss_threads: 2\n"
                + "worker_threads: 4\n"
                + "so_backlog: 128\n"
                + "write_buffer_low: 16384\n"
                + "write_buffer_high: 49152\n"
                + "slow_consumer_timeout: 45\n"
                + "slow_consumer_max_bytes: 1073741824\n"
                + "shutdown_grace: 3\n"
                + "allowed_origins:\n"
                + "  - https://a.example\n"
                + "  - https://b.example\n"
                + "allowed_hosts: [hub.example, '*.internal']\n"
                + "max_connections: 5000\n"
                + "max_connections_per_address: 50\n"
                + "registrations_per_address_per_second: 5\n"
                + "max_sessions_per_constellation: 20\n"
                + "handshake_timeout: 4\n"
                + "probe_timeout: 750ms\n"
                + "tls_cert: hub.crt\n"
                + "tls_key: hub.key\n"
                + "cluster:\n"
                + "  redis: redis://127.0.0.1:6390\n"
                + "  node_id: node-a\n"
                + "  lease: 6\n"
                + "  renew_interval: 2\n");
    assertThat(load(file)).isEqualTo(expectedNonDefaults());
  }

  // ------------------------------------------------------------------------------ precedence

  @ParameterizedTest(name = "file={0} env={1} flag={2} -> {3}")
  @CsvSource({
    "false, false, false, 5000",
    "true,  false, false, 6001",
    "false, true,  false, 6002",
    "false, false, true,  6003",
    "true,  true,  false, 6002",
    "true,  false, true,  6003",
    "false, true,  true,  6003",
    "true,  true,  true,  6003"
  })
  void flagBeatsEnvBeatsFileBeatsDefault(
      boolean file, boolean env, boolean flag, int expectedPort) {
    Path f = file ? yaml("port: 6001\n") : null;
    Map<String, String> e = env ? Map.of("HUB_PORT", "6002") : NONE;
    Map<String, String> fl = flag ? Map.of("port", "6003") : NONE;
    assertThat(HubConfigLoader.load(f, e, fl).listen().port()).isEqualTo(expectedPort);
  }

  @Test
  void eachKeyTakesItsValueFromTheHighestLayerThatSetsIt() {
    Path file =
        yaml(
            "host: 10.9.9.9\nport: 6001\nws_path: /from-file\napi_key: file-key-0123456\n"
                + "idle_timeout: 1m\n");
    Map<String, String> env =
        Map.of("HUB_PORT", "6002", "HUB_WS_PATH", "/from-env", "HUB_API_KEY", "env-key-0123456");
    Map<String, String> flags = Map.of("api_key", "flag-key-0123456");

    HubConfig c = HubConfigLoader.load(file, env, flags);

    assertThat(c.listen().host()).isEqualTo("10.9.9.9");
    assertThat(c.timeouts().idle()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.listen().port()).isEqualTo(6002);
    assertThat(c.listen().wsPath()).isEqualTo("/from-env");
    assertThat(c.security().apiKey()).isEqualTo("flag-key-0123456");
    assertThat(c.timeouts().registration()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void flagsWithoutAValueLeaveTheLowerLayersAlone() {
    Map<String, String> flags = new HashMap<>();
    flags.put("port", null);
    flags.put("api_key", null);
    flags.put("host", null);
    flags.put("device_config", null);
    HubConfig c =
        HubConfigLoader.load(
            yaml("port: 6001\nhost: 10.0.0.1\n"), Map.of("HUB_API_KEY", "env-key-0123456"), flags);
    assertThat(c.listen().port()).isEqualTo(6001);
    assertThat(c.listen().host()).isEqualTo("10.0.0.1");
    assertThat(c.security().apiKey()).isEqualTo("env-key-0123456");
    assertThat(c.devices().configFile()).isNull();
  }

  @Test
  void aHigherLayerRepairsAnOutOfRangeValueBelowIt() {
    assertThat(
            HubConfigLoader.load(yaml("port: 70000\n"), NONE, Map.of("port", "6000"))
                .listen()
                .port())
        .isEqualTo(6000);
    assertThat(
            HubConfigLoader.load(yaml("port: 70000\n"), Map.of("HUB_PORT", "0"), NONE)
                .listen()
                .port())
        .isZero();
  }

  @Test
  void anOutOfRangeValueIsBlamedOnTheLayerItCameFrom() {
    Path file = yaml("port: 6000\n");
    assertThat(failure(file, Map.of("HUB_PORT", "70000"), NONE).getMessage())
        .startsWith("environment variable HUB_PORT: port: 70000 (")
        .doesNotContain("config file");
    assertThat(failure(file, Map.of("HUB_PORT", "6001"), Map.of("port", "70000")).getMessage())
        .startsWith("flag --port: port: 70000 (")
        .doesNotContain("HUB_PORT");
  }

  @Test
  void unrelatedHubVariablesAreIgnored() {
    Map<String, String> env =
        Map.of(
            "HUB_CONFIG", "/does/not/exist.yaml",
            "HUB_LOG_LEVEL", "DEBUG",
            "HUB_SOMETHING_ELSE", "x",
            "PORT", "1234",
            "hub_port", "1234");
    assertThat(HubConfigLoader.load(null, env, NONE)).isEqualTo(HubConfig.defaults());
  }

  @Test
  void anUnknownFlagKeyIsAnError() {
    assertThat(failure(null, NONE, Map.of("prot", "1")).getMessage()).contains("prot");
  }

  // ------------------------------------------------------------------------------ durations

  @ParameterizedTest(name = "{0} -> {1} ms")
  @CsvSource({
    "500ms, 500",
    "10s, 10000",
    "2m, 120000",
    "1h, 3600000",
    "1d, 86400000",
    "15, 15000",
    "10S, 10000",
    "250MS, 250",
    "' 7s ', 7000",
    "'3 s', 3000",
    "PT1M30S, 90000",
    "PT0.25S, 250",
    "P1DT1H, 90000000"
  })
  void durationsInEveryNotation(String text, long millis) {
    assertThat(env("idle_timeout", text).timeouts().idle()).isEqualTo(Duration.ofMillis(millis));
    assertThat(load(yaml("idle_timeout: '" + text + "'\n")).timeouts().idle())
        .isEqualTo(Duration.ofMillis(millis));
  }

  @Test
  void aBareYamlNumberIsSeconds() {
    HubConfig c = load(yaml("shutdown_grace: 4\nhistory_age: 7200\n"));
    assertThat(c.timeouts().shutdownGrace()).isEqualTo(Duration.ofSeconds(4));
    assertThat(c.history().age()).isEqualTo(Duration.ofHours(2));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"soon", "10x", "-5s", "1.5s", "ms", "10 minutes", "s10", "PT", "1h30m", "''"})
  void badDurationsNameFileKeyAndValue(String text) {
    Path file = yaml("idle_timeout: " + text + "\n");
    String shown = text.equals("''") ? "" : text;
    assertThat(fileFailure(file))
        .startsWith("config file " + file + ": key 'idle_timeout': idle_timeout: " + shown + " (")
        .contains("must be a duration such as 500ms, 10s, 2m or 1h");
  }

  @Test
  void aYamlFloatIsNotADuration() {
    Path file = yaml("ping_timeout: 1.5\n");
    assertThat(fileFailure(file)).contains(file.toString(), "ping_timeout", "1.5", "duration");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "0s", "0ms", "-PT5S", "PT0S"})
  void zeroOrNegativeDurationsAreRejectedNamingTheSource(String text) {
    String m = failure(null, Map.of("HUB_SHUTDOWN_GRACE", text), NONE).getMessage();
    assertThat(m)
        .startsWith("environment variable HUB_SHUTDOWN_GRACE: shutdown_grace: ")
        .contains("must be a positive duration");
  }

  @Test
  void badDurationFromEnvAndFlagNameTheirSource() {
    assertThat(failure(null, Map.of("HUB_REGISTRATION_TIMEOUT", "later"), NONE).getMessage())
        .isEqualTo(
            "environment variable HUB_REGISTRATION_TIMEOUT: registration_timeout: later"
                + " (must be a duration such as 500ms, 10s, 2m or 1h)");
    assertThat(failure(null, NONE, Map.of("ping_timeout", "later")).getMessage())
        .startsWith("flag --ping-timeout: ping_timeout: later (");
  }

  // ---------------------------------------------------------------------------------- sizes

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "4MiB, 4194304",
    "64KiB, 65536",
    "1MB, 1000000",
    "1GB, 1000000000",
    "2kb, 2000",
    "2k, 2048",
    "3m, 3145728",
    "1 MiB, 1048576",
    "8mib, 8388608",
    "2048, 2048",
    "2048b, 2048",
    "1g, 1073741824"
  })
  void sizesInEveryNotation(String text, int bytes) {
    assertThat(env("max_frame_bytes", text).limits().maxFrameBytes()).isEqualTo(bytes);
    assertThat(load(yaml("max_frame_bytes: '" + text + "'\n")).limits().maxFrameBytes())
        .isEqualTo(bytes);
  }

  @Test
  void theLongSizeAcceptsMoreThanTwoGibibytes() {
    assertThat(env("slow_consumer_max_bytes", "3GiB").limits().slowConsumerMaxBytes())
        .isEqualTo(3L * 1024 * 1024 * 1024);
    assertThat(load(yaml("slow_consumer_max_bytes: 5000000000\n")).limits().slowConsumerMaxBytes())
        .isEqualTo(5_000_000_000L);
  }

  @ParameterizedTest
  @ValueSource(strings = {"4XB", "-1", "1.5MiB", "MiB", "4 M i B", "four", "0x400", "1e6"})
  void badSizesNameFileKeyAndValue(String text) {
    Path file = yaml("max_body_bytes: '" + text + "'\n");
    assertThat(fileFailure(file))
        .startsWith(
            "config file " + file + ": key 'max_body_bytes': max_body_bytes: " + text + " (")
        .contains("must be a size such as 4MiB, 64KiB or 1048576");
  }

  @Test
  void intSizesAboveTwoGibibytesAreRejected() {
    assertThat(failure(null, Map.of("HUB_MAX_FRAME_BYTES", "2GiB"), NONE).getMessage())
        .isEqualTo(
            "environment variable HUB_MAX_FRAME_BYTES: max_frame_bytes: 2GiB (must be below 2 GiB)");
  }

  @Test
  void overflowingSizesAreRejected() {
    assertThat(failure(null, Map.of("HUB_SLOW_CONSUMER_MAX_BYTES", "99999999999GiB"), NONE))
        .hasMessageContaining("HUB_SLOW_CONSUMER_MAX_BYTES")
        .hasMessageContaining("99999999999GiB")
        .hasMessageContaining("too large");
    Path file = yaml("slow_consumer_max_bytes: 123456789012345678901234567890\n");
    assertThat(fileFailure(file))
        .contains(file.toString(), "slow_consumer_max_bytes", "123456789012345678901234567890");
  }

  @Test
  void sizesBelowTheirMinimumNameTheSource() {
    Path file = yaml("max_frame_bytes: 1KB\n");
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file "
                + file
                + ": key 'max_frame_bytes': max_frame_bytes: 1000 (must be at least 1024)");
  }

  // ---------------------------------------------------------------------------------- lists

  @Test
  void originsAsYamlListsOrCommaSeparatedText() {
    assertThat(
            load(yaml("allowed_origins: [https://a.example, '*']\n")).security().allowedOrigins())
        .containsExactly("https://a.example", "*");
    assertThat(load(yaml("allowed_origins: []\n")).security().allowedOrigins()).isEmpty();
    assertThat(load(yaml("allowed_origins: '*'\n")).security().allowedOrigins())
        .containsExactly("*");
    assertThat(
            env("allowed_origins", " https://a.example , ,https://b.example,")
                .security()
                .allowedOrigins())
        .containsExactly("https://a.example", "https://b.example");
    assertThat(env("allowed_origins", "").security().allowedOrigins()).isEmpty();
    assertThat(env("allowed_origins", "  ").security().allowedOrigins()).isEmpty();
    assertThat(
            HubConfigLoader.load(
                    yaml("allowed_origins: [https://a.example]\n"),
                    Map.of("HUB_ALLOWED_ORIGINS", "https://b.example"),
                    NONE)
                .security()
                .allowedOrigins())
        .containsExactly("https://b.example");
  }

  @ParameterizedTest
  @ValueSource(strings = {"[{a: b}]", "[[x]]", "[~]", "{a: b}"})
  void originsThatAreNotStringsAreRejected(String value) {
    Path file = yaml("allowed_origins: " + value + "\n");
    assertThat(fileFailure(file))
        .startsWith("config file " + file + ": key 'allowed_origins': allowed_origins: ");
  }

  // -------------------------------------------------------------------- policy and strings

  @ParameterizedTest
  @CsvSource({"reject, REJECT", "takeover, TAKEOVER", "TAKEOVER, TAKEOVER", "Reject, REJECT"})
  void duplicatePolicies(String text, DuplicatePolicy expected) {
    assertThat(env("duplicate_policy", text).devices().duplicatePolicy()).isEqualTo(expected);
    assertThat(load(yaml("duplicate_policy: " + text + "\n")).devices().duplicatePolicy())
        .isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"true, true", "false, false", "TRUE, true", "False, false"})
  void unicodeIdsIsAFlag(String text, boolean expected) {
    assertThat(env("unicode_ids", text).devices().unicodeIds()).isEqualTo(expected);
    assertThat(load(yaml("unicode_ids: " + text + "\n")).devices().unicodeIds())
        .isEqualTo(expected);
    assertThat(HubConfig.defaults().devices().unicodeIds()).isFalse();
  }

  @Test
  void aUnicodeIdsValueOtherThanTrueOrFalseNamesFileKeyAndValue() {
    Path file = yaml("unicode_ids: yes please\n");
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file "
                + file
                + ": key 'unicode_ids': unicode_ids: yes please (must be true or false)");
  }

  @Test
  void anUnknownPolicyNamesFileKeyAndValue() {
    Path file = yaml("duplicate_policy: replace\n");
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file "
                + file
                + ": key 'duplicate_policy': duplicate_policy: replace (must be reject or takeover)");
  }

  @Test
  void stringSettingsRejectListsAndMaps() {
    Path list = yaml("a.yaml", "host: [a, b]\n");
    assertThat(fileFailure(list))
        .isEqualTo("config file " + list + ": key 'host': host: [a, b] (must be a single value)");
    Path map = yaml("b.yaml", "ws_path: {a: b}\n");
    assertThat(fileFailure(map)).contains(map.toString(), "ws_path", "{a=b}", "single value");
  }

  @Test
  void scalarsOfOtherYamlTypesBecomeText() {
    assertThat(load(yaml("ws_path: /123\nhost: localhost\n")).listen().host())
        .isEqualTo("localhost");
    assertThat(load(yaml("port: '6001'\n")).listen().port()).isEqualTo(6001);
  }

  @Test
  void aWsPathThatCollidesWithTheApiIsBlamedOnItsSource() {
    assertThat(failure(null, Map.of("HUB_WS_PATH", "/api/ws"), NONE).getMessage())
        .isEqualTo(
            "environment variable HUB_WS_PATH: ws_path: /api/ws (collides with an HTTP route)");
  }

  // ----------------------------------------------------------------------------------- paths

  @Test
  void aRelativeDeviceConfigResolvesAgainstTheConfigFilesDirectory() {
    Path file = yaml("conf/nested/hub.yaml", "device_config: devices/d.yaml\n");
    assertThat(load(file).devices().configFile())
        .isEqualTo(dir.toAbsolutePath().resolve("conf/nested/devices/d.yaml"));
    Path up = yaml("conf/other/hub.yaml", "device_config: ../common/./d.yaml\n");
    assertThat(load(up).devices().configFile())
        .isEqualTo(dir.toAbsolutePath().resolve("conf/common/d.yaml"));
  }

  @Test
  void aRelativeConfigFilePathStillResolvesDeviceConfigNextToIt() {
    Path file = yaml("rel/hub.yaml", "device_config: d.yaml\n");
    Path relative = Path.of("").toAbsolutePath().relativize(file.toAbsolutePath());
    assertThat(relative.isAbsolute()).isFalse();
    assertThat(load(relative).devices().configFile())
        .isEqualTo(file.toAbsolutePath().getParent().resolve("d.yaml"));
  }

  @Test
  void anAbsoluteDeviceConfigIsKept() {
    Path abs = dir.toAbsolutePath().resolve("elsewhere/devices.json");
    assertThat(load(yaml("device_config: '" + abs + "'\n")).devices().configFile()).isEqualTo(abs);
  }

  @Test
  void deviceConfigFromEnvOrFlagIsTakenAsGiven() {
    assertThat(env("device_config", "devices.yaml").devices().configFile())
        .isEqualTo(Path.of("devices.yaml"));
    assertThat(
            HubConfigLoader.load(
                    yaml("device_config: in-file.yaml\n"),
                    NONE,
                    Map.of("device_config", "from-flag.yaml"))
                .devices()
                .configFile())
        .isEqualTo(Path.of("from-flag.yaml"));
  }

  @Test
  void anInvalidPathFlagNamesTheFlag() {
    assertThat(failure(null, NONE, Map.of("device_config", "bad\0path")).getMessage())
        .startsWith("flag --device-config: device_config: bad");
  }

  // ------------------------------------------------------------------------------ file errors

  @Test
  void anUnknownKeyNamesTheFileAndTheKey() {
    Path file = yaml("host: 127.0.0.1\nprot: 6000\n");
    assertThat(fileFailure(file))
        .startsWith("config file " + file + ": unknown key 'prot'")
        .contains("port", "ws_path", "api_key");
  }

  @Test
  void aMisspeltApiKeyIsNotEchoed() {
    Path file = yaml("apikey: misspelt-secret-123\n");
    assertThat(fileFailure(file))
        .contains(file.toString(), "'apikey'")
        .doesNotContain("misspelt-secret");
  }

  @ParameterizedTest(name = "port: {0}")
  @ValueSource(strings = {"abc", "[1]", "6000.5", "true", "{a: 1}", "5000000000", "''"})
  void aPortOfTheWrongTypeNamesFileKeyAndValue(String value) {
    Path file = yaml("port: " + value + "\n");
    String shown =
        switch (value) {
          case "{a: 1}" -> "{a=1}";
          case "''" -> "";
          default -> value;
        };
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file " + file + ": key 'port': port: " + shown + " (must be an integer)");
  }

  @ParameterizedTest
  @ValueSource(ints = {70000, 65536, -1})
  void aPortOutOfRangeNamesFileKeyAndValue(int port) {
    Path file = yaml("port: " + port + "\n");
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file "
                + file
                + ": key 'port': port: "
                + port
                + " (must be between 0 and 65535)");
  }

  @Test
  void aHighWatermarkNotAboveTheLowOneNamesFileKeyAndValue() {
    Path file = yaml("write_buffer_low: 64KiB\nwrite_buffer_high: 64KiB\n");
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file "
                + file
                + ": key 'write_buffer_high': write_buffer_high: 65536"
                + " (must be above write_buffer_low 65536)");
  }

  @Test
  void aLowWatermarkRaisedAboveTheDefaultHighOneNamesTheFile() {
    // Only write_buffer_low is in the file; the message must still say which file to fix.
    Path file = yaml("write_buffer_low: 128KiB\n");
    assertThat(fileFailure(file))
        .contains("config file " + file)
        .contains("write_buffer_low")
        .contains("131072");
    Path high = yaml("high.yaml", "write_buffer_high: 32MiB\n");
    assertThat(fileFailure(high))
        .startsWith("config file " + high + ": key 'write_buffer_high': slow_consumer_max_bytes: ")
        .contains("33554432");
    assertThat(failure(null, Map.of("HUB_WRITE_BUFFER_LOW", "1MiB"), NONE).getMessage())
        .startsWith("environment variable HUB_WRITE_BUFFER_LOW: write_buffer_high: 65536 (");
  }

  @Test
  void aSlowConsumerLimitNotAboveTheHighWatermarkNamesItsSource() {
    assertThat(failure(null, Map.of("HUB_SLOW_CONSUMER_MAX_BYTES", "64KiB"), NONE).getMessage())
        .isEqualTo(
            "environment variable HUB_SLOW_CONSUMER_MAX_BYTES: slow_consumer_max_bytes: 65536"
                + " (must be above write_buffer_high 65536)");
  }

  @Test
  void aBadValueDeepInTheFileIsReportedForItsKey() {
    Path file = yaml("host: 127.0.0.1\nport: 5000\nhistory_size: lots\n");
    assertThat(fileFailure(file))
        .isEqualTo(
            "config file "
                + file
                + ": key 'history_size': history_size: lots (must be an integer)");
  }

  @Test
  void aMissingFileIsNamed() {
    Path missing = dir.resolve("no/such/hub.yaml");
    assertThat(fileFailure(missing)).isEqualTo("config file " + missing + ": file not found");
  }

  @Test
  void anUnreadableFileIsNamed() {
    // A directory where the file should be cannot be read, whoever runs the test (even root).
    Path directory = dir.resolve("hub.yaml.d");
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    assertThat(fileFailure(directory))
        .startsWith("config file " + directory + ": cannot read file");
  }

  @Test
  void invalidYamlNamesTheFileAndTheLine() {
    Path file = yaml("host: 127.0.0.1\nport: 5000\n  bad_indent: x\n");
    assertThat(fileFailure(file))
        .startsWith("config file " + file + ": line 3: invalid YAML: ")
        .contains("mapping values are not allowed here");
    Path unclosed = yaml("b.yaml", "host: a\nport: 5000\nws_path: [unclosed\nidle_timeout: 10s\n");
    assertThat(fileFailure(unclosed))
        .startsWith("config file " + unclosed + ": line 4: invalid YAML");
  }

  @Test
  void aDuplicateKeyIsInvalidYaml() {
    Path file = yaml("port: 6001\nhost: a\nport: 6002\n");
    assertThat(fileFailure(file))
        .startsWith("config file " + file + ": line 3: invalid YAML: ")
        .contains("duplicate key port");
  }

  @ParameterizedTest
  @ValueSource(strings = {"- port\n- host\n", "just text\n", "42\n"})
  void aTopLevelThatIsNotAMappingIsRejected(String text) {
    Path file = yaml(text);
    assertThat(fileFailure(file))
        .isEqualTo("config file " + file + ": top level must be a mapping of setting to value");
  }

  @Test
  void longValuesAreShortenedInMessages() {
    String big = "x".repeat(500);
    Path file = yaml("port: " + big + "\n");
    String m = fileFailure(file);
    assertThat(m).contains("port: " + "x".repeat(80) + "...").doesNotContain("x".repeat(81));
  }

  // ---------------------------------------------------------------------- env and flag errors

  @Test
  void envErrorsNameTheVariable() {
    assertThat(failure(null, Map.of("HUB_PORT", "abc"), NONE).getMessage())
        .isEqualTo("environment variable HUB_PORT: port: abc (must be an integer)");
    assertThat(failure(null, Map.of("HUB_PORT", "70000"), NONE).getMessage())
        .isEqualTo("environment variable HUB_PORT: port: 70000 (must be between 0 and 65535)");
    assertThat(failure(null, Map.of("HUB_DUPLICATE_POLICY", "oldest"), NONE).getMessage())
        .startsWith("environment variable HUB_DUPLICATE_POLICY: duplicate_policy: oldest (");
  }

  @Test
  void flagErrorsNameTheFlag() {
    assertThat(failure(null, NONE, Map.of("port", "abc")).getMessage())
        .isEqualTo("flag --port: port: abc (must be an integer)");
    assertThat(failure(null, NONE, Map.of("port", "70000")).getMessage())
        .isEqualTo("flag --port: port: 70000 (must be between 0 and 65535)");
    assertThat(failure(null, NONE, Map.of("host", " ")).getMessage())
        .startsWith("flag --host: host:");
  }

  // ------------------------------------------------------------------- the key is never shown

  static Stream<Arguments> keyLeaks() {
    return Stream.of(
        Arguments.of("short in file", "api_key: Sx7kQ2p\n", NONE, NONE, "Sx7kQ2p"),
        Arguments.of(
            "list in file", "api_key: [Sx7kQ2pLongEnough]\n", NONE, NONE, "Sx7kQ2pLongEnough"),
        Arguments.of(
            "map in file", "api_key: {k: Sx7kQ2pLongEnough}\n", NONE, NONE, "Sx7kQ2pLongEnough"),
        Arguments.of(
            "unterminated quote",
            "port: 1\napi_key: \"Sx7kQ2pLongEnough\n",
            NONE,
            NONE,
            "Sx7kQ2pLongEnough"),
        Arguments.of(
            "mapping on the key's line",
            "api_key: Sx7kQ2pLongEnough: x\n",
            NONE,
            NONE,
            "Sx7kQ2pLongEnough"),
        Arguments.of(
            "duplicate key",
            "api_key: Sx7kQ2pLongEnough\napi_key: Zq9wLongEnough\n",
            NONE,
            NONE,
            "Sx7kQ2pLongEnough"),
        Arguments.of("short in env", null, Map.of("HUB_API_KEY", "Sx7kQ2p"), NONE, "Sx7kQ2p"),
        Arguments.of("short flag", null, NONE, Map.of("api_key", "Sx7kQ2p"), "Sx7kQ2p"),
        Arguments.of(
            "short flag over a good file",
            "api_key: GoodFileKey123\n",
            NONE,
            Map.of("api_key", "Sx7kQ2p"),
            "Sx7kQ2p"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("keyLeaks")
  void theApiKeyIsNeverShownInAnError(
      String name,
      String yamlText,
      Map<String, String> env,
      Map<String, String> flags,
      String key) {
    Path file = yamlText == null ? null : yaml(yamlText);
    ConfigException e = failure(file, env, flags);
    assertThat(e.getMessage()).doesNotContain(key).doesNotContain("Sx7kQ2p");
    assertThat(e.toString()).doesNotContain("Sx7kQ2p");
  }

  @Test
  void aRejectedKeyIsHiddenInTheWholeStackTrace() {
    ConfigException fromEnv = failure(null, Map.of("HUB_API_KEY", "Sx7kQ2p"), NONE);
    assertThat(fromEnv.getMessage())
        .isEqualTo(
            "environment variable HUB_API_KEY: api_key: (hidden) (must have at least 8 characters)");
    assertThat(stackTrace(fromEnv)).doesNotContain("Sx7kQ2p");
    ConfigException fromFile = failure(yaml("api_key: [Sx7kQ2pLongEnough]\n"), NONE, NONE);
    assertThat(stackTrace(fromFile)).doesNotContain("Sx7kQ2p");
    ConfigException fromFlag = failure(null, NONE, Map.of("api_key", "Sx7kQ2p"));
    assertThat(fromFlag.getMessage()).startsWith("flag --api-key: api_key: (hidden) (");
    assertThat(stackTrace(fromFlag)).doesNotContain("Sx7kQ2p");
  }

  @Test
  void aGoodKeyIsLoadedButNotShownByTheConfig() {
    HubConfig c = load(yaml("api_key: Sx7kQ2pLongEnough\n"));
    assertThat(c.security().apiKey()).isEqualTo("Sx7kQ2pLongEnough");
    assertThat(c.toString()).doesNotContain("Sx7kQ2p");
  }
}
