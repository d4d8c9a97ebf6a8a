package org.aiphub.server.config;

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

/** {@link HubConfig}: the embedded defaults, every field's bounds, and a key-free toString. */
class HubConfigTest {
  private static final String SECRET = "s3cret-api-key-value-42";

  private static HubConfig build(UnaryOperator<HubConfig.Builder> tweak) {
    return tweak.apply(HubConfig.builder()).build();
  }

  @Test
  void defaultsAreTheDocumentedOnes() {
    HubConfig c = HubConfig.defaults();
    assertThat(c.host()).isEqualTo("127.0.0.1");
    assertThat(c.port()).isEqualTo(5000);
    assertThat(c.wsPath()).isEqualTo("/ws");
    assertThat(c.apiKey()).isNull();
    assertThat(c.deviceConfig()).isNull();
    assertThat(c.duplicatePolicy()).isEqualTo(DuplicatePolicy.REJECT);
    assertThat(c.registrationTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.pingTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.maxFrameBytes()).isEqualTo(4 * 1024 * 1024);
    assertThat(c.maxFragmentsPerMessage()).isEqualTo(4096);
    assertThat(c.maxJsonDepth()).isEqualTo(64);
    assertThat(c.maxBodyBytes()).isEqualTo(1024 * 1024);
    assertThat(c.badFramesPerMinute()).isEqualTo(20);
    assertThat(c.historySize()).isEqualTo(10_000);
    assertThat(c.historyAge()).isEqualTo(Duration.ofHours(1));
    assertThat(c.defaultMaxConcurrentTasks()).isZero();
    assertThat(c.bossThreads()).isEqualTo(1);
    assertThat(c.workerThreads()).isZero();
    assertThat(c.soBacklog()).isEqualTo(1024);
    assertThat(c.writeBufferLow()).isEqualTo(32 * 1024);
    assertThat(c.writeBufferHigh()).isEqualTo(64 * 1024);
    assertThat(c.slowConsumerTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.slowConsumerMaxBytes()).isEqualTo(16L * 1024 * 1024);
    assertThat(c.shutdownGrace()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.allowedOrigins()).isEmpty();
  }

  /** One field set out of its bounds: the key the error must name, and the value it shows. */
  static Stream<Arguments> invalid() {
    return Stream.of(
        bad("host", null, b -> b.host(null)),
        bad("host", "", b -> b.host("")),
        bad("host", "   ", b -> b.host("   ")),
        bad("port", "-1", b -> b.port(-1)),
        bad("port", "65536", b -> b.port(65536)),
        bad("port", "70000", b -> b.port(70000)),
        bad("ws_path", null, b -> b.wsPath(null)),
        bad("ws_path", "ws", b -> b.wsPath("ws")),
        bad("ws_path", "/", b -> b.wsPath("/")),
        bad("ws_path", "/ws?x=1", b -> b.wsPath("/ws?x=1")),
        bad("ws_path", "/api/ws", b -> b.wsPath("/api/ws")),
        bad("ws_path", "/metrics", b -> b.wsPath("/metrics")),
        bad("ws_path", "/healthz", b -> b.wsPath("/healthz")),
        bad("api_key", "(hidden)", b -> b.apiKey("1234567")),
        bad("api_key", "(hidden)", b -> b.apiKey("")),
        bad("duplicate_policy", null, b -> b.duplicatePolicy(null)),
        bad("registration_timeout", "PT0S", b -> b.registrationTimeout(Duration.ZERO)),
        bad("registration_timeout", "PT-1S", b -> b.registrationTimeout(Duration.ofSeconds(-1))),
        bad("registration_timeout", null, b -> b.registrationTimeout(null)),
        bad("idle_timeout", "PT0S", b -> b.idleTimeout(Duration.ZERO)),
        bad("idle_timeout", null, b -> b.idleTimeout(null)),
        bad("ping_timeout", "PT-0.001S", b -> b.pingTimeout(Duration.ofMillis(-1))),
        bad("ping_timeout", null, b -> b.pingTimeout(null)),
        bad("history_age", "PT0S", b -> b.historyAge(Duration.ZERO)),
        bad("history_age", null, b -> b.historyAge(null)),
        bad("slow_consumer_timeout", "PT0S", b -> b.slowConsumerTimeout(Duration.ZERO)),
        bad("slow_consumer_timeout", null, b -> b.slowConsumerTimeout(null)),
        bad("shutdown_grace", "PT0S", b -> b.shutdownGrace(Duration.ZERO)),
        bad("shutdown_grace", null, b -> b.shutdownGrace(null)),
        bad("max_frame_bytes", "1023", b -> b.maxFrameBytes(1023)),
        bad("max_fragments_per_message", "0", b -> b.maxFragmentsPerMessage(0)),
        bad("max_json_depth", "1", b -> b.maxJsonDepth(1)),
        bad("max_body_bytes", "1023", b -> b.maxBodyBytes(1023)),
        bad("bad_frames_per_minute", "0", b -> b.badFramesPerMinute(0)),
        bad("history_size", "0", b -> b.historySize(0)),
        bad("default_max_concurrent_tasks", "-1", b -> b.defaultMaxConcurrentTasks(-1)),
        bad("boss_threads", "0", b -> b.bossThreads(0)),
        bad("worker_threads", "-1", b -> b.workerThreads(-1)),
        bad("so_backlog", "0", b -> b.soBacklog(0)),
        bad("write_buffer_low", "1023", b -> b.writeBufferLow(1023)),
        bad("write_buffer_high", "32768", b -> b.writeBufferHigh(32 * 1024)),
        bad("write_buffer_high", "16384", b -> b.writeBufferHigh(16 * 1024)),
        bad("write_buffer_high", "65536", b -> b.writeBufferLow(128 * 1024)),
        bad("slow_consumer_max_bytes", "65536", b -> b.slowConsumerMaxBytes(64 * 1024)),
        bad("slow_consumer_max_bytes", "1", b -> b.slowConsumerMaxBytes(1)),
        bad("probe_timeout", "PT-1S", b -> b.probeTimeout(Duration.ofSeconds(-1))),
        bad(
            "slow_consumer_max_bytes",
            "16777216",
            b -> b.maxFrameBytes(8 * 1024 * 1024 + 1).slowConsumerMaxBytes(16L << 20)));
  }

  @Test
  void anUnsetSlowConsumerBoundFollowsTheFrameLimit() {
    assertThat(build(b -> b).slowConsumerMaxBytes()).isEqualTo(16L << 20);
    assertThat(build(b -> b.maxFrameBytes(4 << 20)).slowConsumerMaxBytes()).isEqualTo(16L << 20);
    assertThat(build(b -> b.maxFrameBytes(100 << 20)).slowConsumerMaxBytes()).isEqualTo(400L << 20);
    assertThat(build(b -> b.maxFrameBytes(100 << 20).slowConsumerMaxBytes(200L << 20)))
        .extracting(HubConfig::slowConsumerMaxBytes)
        .isEqualTo(200L << 20);
  }

  private static Arguments bad(String key, String shown, UnaryOperator<HubConfig.Builder> tweak) {
    return Arguments.of(key, shown, tweak);
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
        ok("port 0", b -> b.port(0)),
        ok("port 65535", b -> b.port(65535)),
        ok("host name", b -> b.host("localhost")),
        ok("host ipv6", b -> b.host("::1")),
        ok("ws_path /a", b -> b.wsPath("/a")),
        ok("ws_path /apiws", b -> b.wsPath("/apiws")),
        ok("ws_path nested", b -> b.wsPath("/aip/v1")),
        ok("api_key 8 chars", b -> b.apiKey("12345678")),
        ok("takeover", b -> b.duplicatePolicy(DuplicatePolicy.TAKEOVER)),
        ok("1ms timeouts", HubConfigTest::allDurationsOneMilli),
        ok("max_frame_bytes 1024", b -> b.maxFrameBytes(1024)),
        ok("max_fragments_per_message 1", b -> b.maxFragmentsPerMessage(1)),
        ok("max_json_depth 2", b -> b.maxJsonDepth(2)),
        ok("max_body_bytes 1024", b -> b.maxBodyBytes(1024)),
        ok("bad_frames_per_minute 1", b -> b.badFramesPerMinute(1)),
        ok("history_size 1", b -> b.historySize(1)),
        ok("default_max_concurrent_tasks 0", b -> b.defaultMaxConcurrentTasks(0)),
        ok("boss_threads 1", b -> b.bossThreads(1)),
        ok("worker_threads 0", b -> b.workerThreads(0)),
        ok("so_backlog 1", b -> b.soBacklog(1)),
        ok("probe_timeout 0 (off)", b -> b.probeTimeout(Duration.ZERO)),
        ok(
            "write buffers 1024/1025, frames 1024, slow consumer 2048",
            b ->
                b.writeBufferLow(1024)
                    .writeBufferHigh(1025)
                    .maxFrameBytes(1024)
                    .slowConsumerMaxBytes(2048)),
        ok("slow_consumer_max_bytes above 2 GiB", b -> b.slowConsumerMaxBytes(8L << 30)));
  }

  private static HubConfig.Builder allDurationsOneMilli(HubConfig.Builder b) {
    Duration ms = Duration.ofMillis(1);
    return b.registrationTimeout(ms)
        .idleTimeout(ms)
        .pingTimeout(ms)
        .historyAge(ms)
        .slowConsumerTimeout(ms)
        .shutdownGrace(ms);
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
    assertThatThrownBy(() -> HubConfig.builder().apiKey("abc1234").build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("api_key")
        .hasMessageContaining("(hidden)")
        .hasMessageNotContaining("abc1234");
  }

  @Test
  void toStringNeverContainsTheApiKey() {
    HubConfig c = HubConfig.builder().apiKey(SECRET).build();
    assertThat(c.toString()).doesNotContain(SECRET).doesNotContain("s3cret").contains("(hidden)");
    assertThat(c.toBuilder().toString()).doesNotContain(SECRET);
    assertThat(HubConfig.defaults().toString()).contains("apiKey=none");
  }

  @Test
  void toStringListsTheOtherSettings() {
    HubConfig c =
        HubConfig.builder()
            .host("10.1.2.3")
            .port(6123)
            .wsPath("/aip")
            .deviceConfig(Path.of("/etc/devices.yaml"))
            .duplicatePolicy(DuplicatePolicy.TAKEOVER)
            .build();
    assertThat(c.toString())
        .contains("host=10.1.2.3")
        .contains("port=6123")
        .contains("wsPath=/aip")
        .contains("/etc/devices.yaml")
        .contains("takeover");
  }

  @Test
  void withApiKeyChangesOnlyTheKeyAndValidatesIt() {
    HubConfig base = HubConfig.builder().port(0).wsPath("/aip").build();
    HubConfig keyed = base.withApiKey(SECRET);
    assertThat(keyed.apiKey()).isEqualTo(SECRET);
    assertThat(keyed.toBuilder().apiKey(null).build()).isEqualTo(base);
    assertThatThrownBy(() -> base.withApiKey("short"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("(hidden)")
        .hasMessageNotContaining("short");
  }

  @Test
  void toBuilderCopiesEveryField() {
    HubConfig c =
        HubConfig.builder()
            .host("0.0.0.0")
            .port(1)
            .wsPath("/x")
            .apiKey(SECRET)
            .deviceConfig(Path.of("d.yaml"))
            .duplicatePolicy(DuplicatePolicy.TAKEOVER)
            .registrationTimeout(Duration.ofSeconds(1))
            .idleTimeout(Duration.ofSeconds(2))
            .pingTimeout(Duration.ofSeconds(3))
            .maxFrameBytes(2048)
            .maxJsonDepth(3)
            .maxBodyBytes(4096)
            .badFramesPerMinute(5)
            .historySize(6)
            .historyAge(Duration.ofMinutes(7))
            .defaultMaxConcurrentTasks(8)
            .bossThreads(2)
            .workerThreads(3)
            .soBacklog(9)
            .writeBufferLow(2000)
            .writeBufferHigh(3000)
            .slowConsumerTimeout(Duration.ofSeconds(11))
            .slowConsumerMaxBytes(5000)
            .shutdownGrace(Duration.ofSeconds(12))
            .allowedOrigins(List.of("https://a.example"))
            .build();
    assertThat(c.toBuilder().build()).isEqualTo(c).isNotEqualTo(HubConfig.defaults());
    assertThat(c.toBuilder().build().slowConsumerMaxBytes()).isEqualTo(5000L);
  }

  @Test
  void allowedOriginsAreCopiedAndImmutable() {
    List<String> origins = new ArrayList<>(List.of("https://a.example"));
    HubConfig c = HubConfig.builder().allowedOrigins(origins).build();
    origins.add("https://evil.example");
    assertThat(c.allowedOrigins()).containsExactly("https://a.example");
    assertThatThrownBy(() -> c.allowedOrigins().add("x"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(HubConfig.builder().allowedOrigins(null).build().allowedOrigins()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 5000, 65535})
  void portsInRangeAreKept(int port) {
    assertThat(HubConfig.builder().port(port).build().port()).isEqualTo(port);
  }
}
