package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.ADMIN_KEY;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.aiphub.core.registry.DuplicatePolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HubConfig} and its sections: the embedded defaults, every setting's bounds, and a key-free
 * toString.
 */
class HubConfigTest {
  private static final String SECRET = "s3cret-api-key-value-42";

  private static HubConfig build(UnaryOperator<HubConfig.Builder> tweak) {
    return tweak.apply(HubConfig.builder()).build();
  }

  @Test
  void defaultsAreTheDocumentedOnes() {
    HubConfig c = HubConfig.defaults();
    assertThat(c.listen().host()).isEqualTo("127.0.0.1");
    assertThat(c.listen().port()).isEqualTo(5000);
    assertThat(c.listen().wsPath()).isEqualTo("/ws");
    assertThat(c.security().apiKey()).isNull();
    assertThat(c.devices().configFile()).isNull();
    assertThat(c.devices().duplicatePolicy()).isEqualTo(DuplicatePolicy.REJECT);
    assertThat(c.timeouts().registration()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.timeouts().idle()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.timeouts().ping()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.limits().maxFrameBytes()).isEqualTo(4 * 1024 * 1024);
    assertThat(c.limits().maxFragmentsPerMessage()).isEqualTo(4096);
    assertThat(c.limits().maxJsonDepth()).isEqualTo(64);
    assertThat(c.limits().maxBodyBytes()).isEqualTo(1024 * 1024);
    assertThat(c.limits().badFramesPerMinute()).isEqualTo(20);
    assertThat(c.history().size()).isEqualTo(10_000);
    assertThat(c.history().age()).isEqualTo(Duration.ofHours(1));
    assertThat(c.limits().defaultMaxConcurrentTasks()).isZero();
    assertThat(c.listen().bossThreads()).isEqualTo(1);
    assertThat(c.listen().workerThreads()).isZero();
    assertThat(c.listen().soBacklog()).isEqualTo(1024);
    assertThat(c.limits().writeBufferLow()).isEqualTo(32 * 1024);
    assertThat(c.limits().writeBufferHigh()).isEqualTo(64 * 1024);
    assertThat(c.timeouts().slowConsumer()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.limits().slowConsumerMaxBytes()).isEqualTo(16L * 1024 * 1024);
    assertThat(c.timeouts().shutdownGrace()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.security().allowedOrigins()).isEmpty();
  }

  /** One field set out of its bounds: the key the error must name, and the value it shows. */
  static Stream<Arguments> invalid() {
    return Stream.of(
        bad("host", null, b -> b.set(HOST, null)),
        bad("host", "", b -> b.set(HOST, "")),
        bad("host", "   ", b -> b.set(HOST, "   ")),
        bad("port", "-1", b -> b.set(PORT, -1)),
        bad("port", "65536", b -> b.set(PORT, 65536)),
        bad("port", "70000", b -> b.set(PORT, 70000)),
        bad("ws_path", null, b -> b.set(WS_PATH, null)),
        bad("ws_path", "ws", b -> b.set(WS_PATH, "ws")),
        bad("ws_path", "/", b -> b.set(WS_PATH, "/")),
        bad("ws_path", "/ws?x=1", b -> b.set(WS_PATH, "/ws?x=1")),
        bad("ws_path", "/api/ws", b -> b.set(WS_PATH, "/api/ws")),
        bad("ws_path", "/metrics", b -> b.set(WS_PATH, "/metrics")),
        bad("ws_path", "/healthz", b -> b.set(WS_PATH, "/healthz")),
        bad("api_key", "(hidden)", b -> b.set(API_KEY, "1234567")),
        bad("api_key", "(hidden)", b -> b.set(API_KEY, "")),
        bad("admin_key", "(hidden)", b -> b.set(ADMIN_KEY, "1234567")),
        bad(
            "admin_key",
            "(hidden)",
            b -> b.set(API_KEY, "same-key-0123456789").set(ADMIN_KEY, "same-key-0123456789")),
        bad("duplicate_policy", null, b -> b.set(DUPLICATE_POLICY, null)),
        bad("unicode_ids", null, b -> b.set(UNICODE_IDS, null)),
        bad("registration_timeout", "PT0S", b -> b.set(REGISTRATION_TIMEOUT, Duration.ZERO)),
        bad(
            "registration_timeout",
            "PT-1S",
            b -> b.set(REGISTRATION_TIMEOUT, Duration.ofSeconds(-1))),
        bad("registration_timeout", null, b -> b.set(REGISTRATION_TIMEOUT, null)),
        bad("idle_timeout", "PT0S", b -> b.set(IDLE_TIMEOUT, Duration.ZERO)),
        bad("idle_timeout", null, b -> b.set(IDLE_TIMEOUT, null)),
        bad("ping_timeout", "PT-0.001S", b -> b.set(PING_TIMEOUT, Duration.ofMillis(-1))),
        bad("ping_timeout", null, b -> b.set(PING_TIMEOUT, null)),
        bad("history_age", "PT0S", b -> b.set(HISTORY_AGE, Duration.ZERO)),
        bad("history_age", null, b -> b.set(HISTORY_AGE, null)),
        bad("slow_consumer_timeout", "PT0S", b -> b.set(SLOW_CONSUMER_TIMEOUT, Duration.ZERO)),
        bad("slow_consumer_timeout", null, b -> b.set(SLOW_CONSUMER_TIMEOUT, null)),
        bad("shutdown_grace", "PT0S", b -> b.set(SHUTDOWN_GRACE, Duration.ZERO)),
        bad("shutdown_grace", null, b -> b.set(SHUTDOWN_GRACE, null)),
        bad("max_frame_bytes", "1023", b -> b.set(MAX_FRAME_BYTES, 1023)),
        bad("max_fragments_per_message", "0", b -> b.set(MAX_FRAGMENTS_PER_MESSAGE, 0)),
        bad("max_json_depth", "1", b -> b.set(MAX_JSON_DEPTH, 1)),
        bad("max_json_tokens", "99", b -> b.set(Settings.MAX_JSON_TOKENS, 99)),
        bad("max_client_info_bytes", "1023", b -> b.set(Settings.MAX_CLIENT_INFO_BYTES, 1023)),
        bad("max_device_features", "0", b -> b.set(Settings.MAX_DEVICE_FEATURES, 0)),
        bad("max_device_feature_length", "0", b -> b.set(Settings.MAX_DEVICE_FEATURE_LENGTH, 0)),
        bad("max_body_bytes", "1023", b -> b.set(MAX_BODY_BYTES, 1023)),
        bad("bad_frames_per_minute", "0", b -> b.set(BAD_FRAMES_PER_MINUTE, 0)),
        bad("history_size", "0", b -> b.set(HISTORY_SIZE, 0)),
        bad("session_request_bytes", "1023", b -> b.set(Settings.SESSION_REQUEST_BYTES, 1023L)),
        bad("session_request_bytes", null, b -> b.set(Settings.SESSION_REQUEST_BYTES, null)),
        bad("session_result_bytes", "1023", b -> b.set(Settings.SESSION_RESULT_BYTES, 1023L)),
        bad(
            "session_bytes_per_owner",
            "65535",
            b -> b.set(Settings.SESSION_BYTES_PER_OWNER, 65535L)),
        bad("session_bytes", "65535", b -> b.set(Settings.SESSION_BYTES, 65535L)),
        bad("held_outcomes_per_owner", "0", b -> b.set(Settings.HELD_OUTCOMES_PER_OWNER, 0)),
        bad("held_bytes_per_owner", "65535", b -> b.set(Settings.HELD_BYTES_PER_OWNER, 65535L)),
        bad("held_bytes", "0", b -> b.set(Settings.HELD_BYTES, 0L)),
        bad("held_age", "PT0S", b -> b.set(Settings.HELD_AGE, Duration.ZERO)),
        bad("default_max_concurrent_tasks", "-1", b -> b.set(DEFAULT_MAX_CONCURRENT_TASKS, -1)),
        bad("boss_threads", "0", b -> b.set(BOSS_THREADS, 0)),
        bad("worker_threads", "-1", b -> b.set(WORKER_THREADS, -1)),
        bad("so_backlog", "0", b -> b.set(SO_BACKLOG, 0)),
        bad("write_buffer_low", "1023", b -> b.set(WRITE_BUFFER_LOW, 1023)),
        bad("write_buffer_high", "32768", b -> b.set(WRITE_BUFFER_HIGH, 32 * 1024)),
        bad("write_buffer_high", "16384", b -> b.set(WRITE_BUFFER_HIGH, 16 * 1024)),
        bad("write_buffer_high", "65536", b -> b.set(WRITE_BUFFER_LOW, 128 * 1024)),
        bad("slow_consumer_max_bytes", "65536", b -> b.set(SLOW_CONSUMER_MAX_BYTES, 64L * 1024)),
        bad("slow_consumer_max_bytes", "1", b -> b.set(SLOW_CONSUMER_MAX_BYTES, 1L)),
        bad("probe_timeout", "PT-1S", b -> b.set(PROBE_TIMEOUT, Duration.ofSeconds(-1))),
        bad("probe_timeout", null, b -> b.set(PROBE_TIMEOUT, null)),
        bad("handshake_timeout", "PT0S", b -> b.set(HANDSHAKE_TIMEOUT, Duration.ZERO)),
        bad("max_connections", "-1", b -> b.set(MAX_CONNECTIONS, -1)),
        bad("max_connections_per_address", "-1", b -> b.set(MAX_CONNECTIONS_PER_ADDRESS, -1)),
        bad(
            "registrations_per_address_per_second",
            "-1",
            b -> b.set(REGISTRATIONS_PER_ADDRESS_PER_SECOND, -1)),
        bad("max_sessions_per_constellation", "-1", b -> b.set(MAX_SESSIONS_PER_CONSTELLATION, -1)),
        bad("max_frame_bytes", null, b -> b.set(MAX_FRAME_BYTES, null)),
        bad("write_buffer_high", null, b -> b.set(WRITE_BUFFER_HIGH, null)),
        bad("tls_key", null, b -> b.set(TLS_CERT, Path.of("hub.crt"))),
        bad("tls_cert", null, b -> b.set(TLS_KEY, Path.of("hub.key"))),
        bad("cluster.redis", "http://r:6379", b -> b.set(CLUSTER_REDIS, "http://r:6379")),
        bad("cluster.node_id", "a b", b -> b.set(CLUSTER_NODE_ID, "a b")),
        bad("cluster.node_id", "", b -> b.set(CLUSTER_NODE_ID, "")),
        bad("cluster.lease", "PT0S", b -> b.set(CLUSTER_LEASE, Duration.ZERO)),
        bad("cluster.renew_interval", "PT0S", b -> b.set(CLUSTER_RENEW_INTERVAL, Duration.ZERO)),
        bad(
            "cluster.renew_interval",
            "PT10S",
            b -> b.set(CLUSTER_RENEW_INTERVAL, Duration.ofSeconds(10))),
        bad("cluster.renew_interval", "PT3S", b -> b.set(CLUSTER_LEASE, Duration.ofSeconds(3))),
        bad(
            "slow_consumer_max_bytes",
            "16777216",
            b ->
                b.set(MAX_FRAME_BYTES, 8 * 1024 * 1024 + 1)
                    .set(SLOW_CONSUMER_MAX_BYTES, 16L << 20)));
  }

  @Test
  void anUnsetSlowConsumerBoundFollowsTheFrameLimit() {
    assertThat(build(b -> b).limits().slowConsumerMaxBytes()).isEqualTo(16L << 20);
    assertThat(build(b -> b.set(MAX_FRAME_BYTES, 4 << 20)).limits().slowConsumerMaxBytes())
        .isEqualTo(16L << 20);
    assertThat(build(b -> b.set(MAX_FRAME_BYTES, 100 << 20)).limits().slowConsumerMaxBytes())
        .isEqualTo(400L << 20);
    assertThat(
            build(b -> b.set(MAX_FRAME_BYTES, 100 << 20).set(SLOW_CONSUMER_MAX_BYTES, 200L << 20)))
        .extracting(c -> c.limits().slowConsumerMaxBytes())
        .isEqualTo(200L << 20);
  }

  private static Arguments bad(String key, String shown, UnaryOperator<HubConfig.Builder> tweak) {
    return Arguments.of(key, shown, tweak);
  }

  @Test
  void everySettingWithARuleHasAnOutOfBoundsCase() {
    // A rule declared in the table but never called by its section would pass this list by.
    List<Object> covered = invalid().map(a -> a.get()[0]).toList();
    for (Setting<?> s : Settings.all()) {
      if (s.checked()) {
        assertThat(covered).as("an invalid() case for %s", s.key()).contains(s.key());
      }
    }
  }

  @ParameterizedTest(name = "{0} = {1}")
  @MethodSource("invalid")
  void everyFieldOutOfBoundsIsRejectedNamingKeyAndValue(
      String key, String shown, UnaryOperator<HubConfig.Builder> tweak) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> build(tweak));
    assertThat(e).as("%s=%s must be rejected", key, shown).isNotNull();
    assertThat(e.key()).isEqualTo(key);
    assertThat(e.getMessage()).startsWith(key + ": " + shown + " (").endsWith(")");
  }

  /** The smallest (or largest) value each bound allows. */
  static Stream<Arguments> boundaries() {
    return Stream.of(
        ok("port 0", b -> b.set(PORT, 0)),
        ok("port 65535", b -> b.set(PORT, 65535)),
        ok("host name", b -> b.set(HOST, "localhost")),
        ok("host ipv6", b -> b.set(HOST, "::1")),
        ok("ws_path /a", b -> b.set(WS_PATH, "/a")),
        ok("ws_path /apiws", b -> b.set(WS_PATH, "/apiws")),
        ok("ws_path nested", b -> b.set(WS_PATH, "/aip/v1")),
        ok("api_key 8 chars", b -> b.set(API_KEY, "12345678")),
        ok("admin_key 8 chars", b -> b.set(ADMIN_KEY, "87654321")),
        ok("takeover", b -> b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER)),
        ok("unicode_ids", b -> b.set(UNICODE_IDS, true)),
        ok("1ms timeouts", HubConfigTest::allDurationsOneMilli),
        ok("max_frame_bytes 1024", b -> b.set(MAX_FRAME_BYTES, 1024)),
        ok("max_fragments_per_message 1", b -> b.set(MAX_FRAGMENTS_PER_MESSAGE, 1)),
        ok("max_json_depth 2", b -> b.set(MAX_JSON_DEPTH, 2)),
        ok("max_body_bytes 1024", b -> b.set(MAX_BODY_BYTES, 1024)),
        ok("bad_frames_per_minute 1", b -> b.set(BAD_FRAMES_PER_MINUTE, 1)),
        ok("history_size 1", b -> b.set(HISTORY_SIZE, 1)),
        ok(
            "session and held bytes at their least",
            b ->
                b.set(Settings.SESSION_REQUEST_BYTES, 1024L)
                    .set(Settings.SESSION_RESULT_BYTES, 1024L)
                    .set(Settings.SESSION_BYTES_PER_OWNER, 65536L)
                    .set(Settings.SESSION_BYTES, 65536L)
                    .set(Settings.HELD_OUTCOMES_PER_OWNER, 1)
                    .set(Settings.HELD_BYTES_PER_OWNER, 65536L)
                    .set(Settings.HELD_BYTES, 65536L)),
        ok("held outcomes kept a week", b -> b.set(Settings.HELD_AGE, Duration.ofDays(7))),
        ok("default_max_concurrent_tasks 0", b -> b.set(DEFAULT_MAX_CONCURRENT_TASKS, 0)),
        ok("boss_threads 1", b -> b.set(BOSS_THREADS, 1)),
        ok("worker_threads 0", b -> b.set(WORKER_THREADS, 0)),
        ok("so_backlog 1", b -> b.set(SO_BACKLOG, 1)),
        ok("probe_timeout 0 (off)", b -> b.set(PROBE_TIMEOUT, Duration.ZERO)),
        ok(
            "write buffers 1024/1025, frames 1024, slow consumer 2048",
            b ->
                b.set(WRITE_BUFFER_LOW, 1024)
                    .set(WRITE_BUFFER_HIGH, 1025)
                    .set(MAX_FRAME_BYTES, 1024)
                    .set(SLOW_CONSUMER_MAX_BYTES, 2048L)),
        ok("slow_consumer_max_bytes above 2 GiB", b -> b.set(SLOW_CONSUMER_MAX_BYTES, 8L << 30)));
  }

  private static HubConfig.Builder allDurationsOneMilli(HubConfig.Builder b) {
    Duration ms = Duration.ofMillis(1);
    return b.set(REGISTRATION_TIMEOUT, ms)
        .set(IDLE_TIMEOUT, ms)
        .set(PING_TIMEOUT, ms)
        .set(HISTORY_AGE, ms)
        .set(SLOW_CONSUMER_TIMEOUT, ms)
        .set(SHUTDOWN_GRACE, ms);
  }

  private static Arguments ok(String name, UnaryOperator<HubConfig.Builder> tweak) {
    return Arguments.of(name, tweak);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("boundaries")
  void valuesAtTheBoundsAreAccepted(String name, UnaryOperator<HubConfig.Builder> tweak) {
    HubConfig c = build(tweak);
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @Test
  void aShortApiKeyIsRejectedWithoutShowingIt() {
    assertThatThrownBy(() -> HubConfig.builder().set(API_KEY, "abc1234").build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("api_key")
        .hasMessageContaining("(hidden)")
        .hasMessageNotContaining("abc1234");
  }

  @Test
  void theOperatorKeyMustDifferFromTheClientKeyAndIsNeverShown() {
    assertThatThrownBy(
            () -> HubConfig.builder().set(API_KEY, SECRET).set(ADMIN_KEY, SECRET).build())
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("admin_key: (hidden) (must differ from api_key")
        .hasMessageNotContaining(SECRET);
    assertThatThrownBy(() -> HubConfig.builder().set(ADMIN_KEY, "abc1234").build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("admin_key")
        .hasMessageContaining("(hidden)")
        .hasMessageNotContaining("abc1234");
    String admin = "operator-" + SECRET;
    HubConfig c = HubConfig.builder().set(API_KEY, SECRET).set(ADMIN_KEY, admin).build();
    assertThat(c.security().adminKey()).isEqualTo(admin);
    assertThat(c.toString()).doesNotContain(admin).contains("admin_key=(hidden)");
    assertThat(c.security().toString()).doesNotContain(admin).contains("adminKey=(hidden)");
    assertThat(HubConfig.defaults().security().adminKey()).isNull();
    assertThat(HubConfig.defaults().toString()).contains("admin_key=none");
    // A generated client key is checked against the operator key as well.
    assertThatThrownBy(() -> c.withApiKey(admin))
        .isInstanceOf(ConfigException.class)
        .hasMessageNotContaining(admin);
  }

  @Test
  void toStringNeverContainsTheApiKey() {
    HubConfig c = HubConfig.builder().set(API_KEY, SECRET).build();
    assertThat(c.toString()).doesNotContain(SECRET).doesNotContain("s3cret").contains("(hidden)");
    assertThat(c.toBuilder().toString()).doesNotContain(SECRET);
    assertThat(c.security().toString()).doesNotContain(SECRET).contains("apiKey=(hidden)");
    assertThat(HubConfig.defaults().toString()).contains("api_key=none");
    assertThat(HubConfig.defaults().security().toString()).contains("apiKey=none");
  }

  @Test
  void toStringListsTheOtherSettings() {
    HubConfig c =
        HubConfig.builder()
            .set(HOST, "10.1.2.3")
            .set(PORT, 6123)
            .set(WS_PATH, "/aip")
            .set(DEVICE_CONFIG, Path.of("/etc/devices.yaml"))
            .set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER)
            .build();
    assertThat(c.toString())
        .contains("host=10.1.2.3")
        .contains("port=6123")
        .contains("ws_path=/aip")
        .contains("/etc/devices.yaml")
        .contains("takeover");
  }

  @Test
  void withApiKeyChangesOnlyTheKeyAndValidatesIt() {
    HubConfig base = HubConfig.builder().set(PORT, 0).set(WS_PATH, "/aip").build();
    HubConfig keyed = base.withApiKey(SECRET);
    assertThat(keyed.security().apiKey()).isEqualTo(SECRET);
    assertThat(keyed.toBuilder().set(API_KEY, null).build()).isEqualTo(base);
    assertThatThrownBy(() -> base.withApiKey("short"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("(hidden)")
        .hasMessageNotContaining("short");
  }

  @Test
  void toBuilderCopiesEveryField() {
    HubConfig c =
        HubConfig.builder()
            .set(HOST, "0.0.0.0")
            .set(PORT, 1)
            .set(WS_PATH, "/x")
            .set(API_KEY, SECRET)
            .set(DEVICE_CONFIG, Path.of("d.yaml"))
            .set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER)
            .set(REGISTRATION_TIMEOUT, Duration.ofSeconds(1))
            .set(IDLE_TIMEOUT, Duration.ofSeconds(2))
            .set(PING_TIMEOUT, Duration.ofSeconds(3))
            .set(MAX_FRAME_BYTES, 2048)
            .set(MAX_JSON_DEPTH, 3)
            .set(MAX_BODY_BYTES, 4096)
            .set(BAD_FRAMES_PER_MINUTE, 5)
            .set(HISTORY_SIZE, 6)
            .set(HISTORY_AGE, Duration.ofMinutes(7))
            .set(DEFAULT_MAX_CONCURRENT_TASKS, 8)
            .set(BOSS_THREADS, 2)
            .set(WORKER_THREADS, 3)
            .set(SO_BACKLOG, 9)
            .set(WRITE_BUFFER_LOW, 2000)
            .set(WRITE_BUFFER_HIGH, 3000)
            .set(SLOW_CONSUMER_TIMEOUT, Duration.ofSeconds(11))
            .set(SLOW_CONSUMER_MAX_BYTES, 5000L)
            .set(SHUTDOWN_GRACE, Duration.ofSeconds(12))
            .set(ALLOWED_ORIGINS, List.of("https://a.example"))
            .build();
    assertThat(c.toBuilder().build()).isEqualTo(c).isNotEqualTo(HubConfig.defaults());
    assertThat(c.toBuilder().build().limits().slowConsumerMaxBytes()).isEqualTo(5000L);
  }

  @Test
  void allowedOriginsAreCopiedAndImmutable() {
    List<String> origins = new ArrayList<>(List.of("https://a.example"));
    HubConfig c = HubConfig.builder().set(ALLOWED_ORIGINS, origins).build();
    origins.add("https://evil.example");
    assertThat(c.security().allowedOrigins()).containsExactly("https://a.example");
    assertThatThrownBy(() -> c.security().allowedOrigins().add("x"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(HubConfig.builder().set(ALLOWED_ORIGINS, null).build().security().allowedOrigins())
        .isEmpty();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 5000, 65535})
  void portsInRangeAreKept(int port) {
    assertThat(HubConfig.builder().set(PORT, port).build().listen().port()).isEqualTo(port);
  }
}
