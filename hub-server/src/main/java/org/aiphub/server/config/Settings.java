package org.aiphub.server.config;

import static org.aiphub.server.config.Setting.Rule.atLeast;
import static org.aiphub.server.config.Setting.Rule.between;
import static org.aiphub.server.config.Setting.Rule.positive;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.registry.ClientInfoLimits;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.HeldOutcomes;
import org.aiphub.core.session.SessionBudget;

/**
 * The settings table: every key the hub understands, declared once, in the order the loader lists
 * them. Each declaration gives the YAML key (which also names its {@code HUB_<KEY>} variable and
 * flag), the kind of value, the default, the rules, and the section accessor that holds it.
 *
 * <p>Adding a key: declare it here, add a component to its section record (validated there with
 * {@code KEY.check(value)}) and read it in that section's {@code from}, then document it in {@code
 * config/hub.yaml}; tests check that the table and that file list the same keys. Rules that compare
 * several keys live in the section that owns them.
 */
public final class Settings {
  // Declared before the constants: each constant adds itself while the class initialises.
  private static final List<Setting<?>> TABLE = new ArrayList<>();

  /** Address to bind. */
  public static final Setting<String> HOST =
      add(
          Setting.string("host", "127.0.0.1")
              .check(h -> h != null && !h.isBlank(), "must be a host name or address")
              .in(c -> c.listen().host()));

  /** TCP port (0 picks a free one). */
  public static final Setting<Integer> PORT =
      add(Setting.integer("port", 5000).check(between(0, 65535)).in(c -> c.listen().port()));

  /** Path of the AIP WebSocket endpoint. */
  public static final Setting<String> WS_PATH =
      add(
          Setting.string("ws_path", "/ws")
              .check(
                  p -> p != null && p.startsWith("/") && p.length() >= 2 && !p.contains("?"),
                  "must be a path like /ws")
              .check(
                  p -> !p.startsWith("/api/") && !p.equals("/metrics") && !p.equals("/healthz"),
                  "collides with an HTTP route")
              .in(c -> c.listen().wsPath()));

  /** Shared key clients present; none until start-up generates one. */
  public static final Setting<String> API_KEY =
      add(
          Setting.string("api_key", null)
              .secret()
              .check(k -> k == null || k.length() >= 8, "must have at least 8 characters")
              .in(c -> c.security().apiKey()));

  /**
   * Operator key for the HTTP API, {@code /metrics} and the dashboard; none: the client key serves
   * both (the single-key mode of the reference server). Never the same as {@code api_key}.
   */
  public static final Setting<String> ADMIN_KEY =
      add(
          Setting.string("admin_key", null)
              .secret()
              .check(k -> k == null || k.length() >= 8, "must have at least 8 characters")
              .in(c -> c.security().adminKey()));

  /** Device config file, or none. */
  public static final Setting<Path> DEVICE_CONFIG =
      add(Setting.path("device_config").in(c -> c.devices().configFile()));

  /** What a registration with an online id gets. */
  public static final Setting<DuplicatePolicy> DUPLICATE_POLICY =
      add(
          Setting.choice(
                  "duplicate_policy",
                  DuplicatePolicy.REJECT,
                  DuplicatePolicy::fromWire,
                  DuplicatePolicy::wire,
                  "must be reject or takeover")
              .in(c -> c.devices().duplicatePolicy()));

  /**
   * Whether client and session ids may hold letters and digits of any script (NFC, UTS 39 checks,
   * confusables refused); false: ASCII ids, look-alikes refused case-insensitively.
   */
  public static final Setting<Boolean> UNICODE_IDS =
      add(
          Setting.choice(
                  "unicode_ids",
                  Boolean.FALSE,
                  Settings::flag,
                  String::valueOf,
                  "must be true or false")
              .in(c -> c.devices().unicodeIds()));

  /** How long a new socket may take to register. */
  public static final Setting<Duration> REGISTRATION_TIMEOUT =
      add(
          Setting.duration("registration_timeout", Duration.ofSeconds(10))
              .check(positive())
              .in(c -> c.timeouts().registration()));

  /** Silence after which a connection is pinged. */
  public static final Setting<Duration> IDLE_TIMEOUT =
      add(
          Setting.duration("idle_timeout", Duration.ofSeconds(90))
              .check(positive())
              .in(c -> c.timeouts().idle()));

  /** How long a pinged connection has to answer before it is closed. */
  public static final Setting<Duration> PING_TIMEOUT =
      add(
          Setting.duration("ping_timeout", Duration.ofSeconds(10))
              .check(positive())
              .in(c -> c.timeouts().ping()));

  /** Largest WebSocket message, after reassembly of fragments. */
  public static final Setting<Integer> MAX_FRAME_BYTES =
      add(
          Setting.bytes("max_frame_bytes", 4 * 1024 * 1024)
              .check(atLeast(1024))
              .in(c -> c.limits().maxFrameBytes()));

  /** Most frames one WebSocket message may come in (its first frame and continuations). */
  public static final Setting<Integer> MAX_FRAGMENTS_PER_MESSAGE =
      add(
          Setting.integer("max_fragments_per_message", 4096)
              .check(atLeast(1))
              .in(c -> c.limits().maxFragmentsPerMessage()));

  /** Deepest JSON nesting accepted in a frame. */
  public static final Setting<Integer> MAX_JSON_DEPTH =
      add(
          Setting.integer("max_json_depth", 64)
              .check(atLeast(2))
              .in(c -> c.limits().maxJsonDepth()));

  /** Most JSON tokens (values, names, brackets) in one client frame. */
  public static final Setting<Integer> MAX_JSON_TOKENS =
      add(
          Setting.integer("max_json_tokens", (int) AipCodec.DEFAULT_MAX_TOKENS)
              .check(atLeast(100))
              .in(c -> c.budgets().maxJsonTokens()));

  /** Largest registration metadata (or reported system_info) cached per client, as JSON. */
  public static final Setting<Integer> MAX_CLIENT_INFO_BYTES =
      add(
          Setting.bytes(
                  ClientInfoLimits.MAX_INFO_BYTES, (int) ClientInfoLimits.DEFAULTS.maxInfoBytes())
              .check(atLeast(1024))
              .in(c -> c.budgets().maxClientInfoBytes()));

  /** Most entries of a device's supported_features, and of its tags. */
  public static final Setting<Integer> MAX_DEVICE_FEATURES =
      add(
          Setting.integer(ClientInfoLimits.MAX_FEATURES, ClientInfoLimits.DEFAULTS.maxFeatures())
              .check(atLeast(1))
              .in(c -> c.budgets().maxDeviceFeatures()));

  /** Most characters of one feature or tag. */
  public static final Setting<Integer> MAX_DEVICE_FEATURE_LENGTH =
      add(
          Setting.integer(
                  ClientInfoLimits.MAX_FEATURE_LENGTH, ClientInfoLimits.DEFAULTS.maxFeatureLength())
              .check(atLeast(1))
              .in(c -> c.budgets().maxDeviceFeatureLength()));

  /** Largest HTTP request body. */
  public static final Setting<Integer> MAX_BODY_BYTES =
      add(
          Setting.bytes("max_body_bytes", 1024 * 1024)
              .check(atLeast(1024))
              .in(c -> c.limits().maxBodyBytes()));

  /** Undecodable frames a client may send per minute before it is closed. */
  public static final Setting<Integer> BAD_FRAMES_PER_MINUTE =
      add(
          Setting.integer("bad_frames_per_minute", 20)
              .check(atLeast(1))
              .in(c -> c.limits().badFramesPerMinute()));

  /** Finished sessions kept for look-ups and redelivery. */
  public static final Setting<Integer> HISTORY_SIZE =
      add(Setting.integer("history_size", 10_000).check(atLeast(1)).in(c -> c.history().size()));

  /** How long finished sessions are kept. */
  public static final Setting<Duration> HISTORY_AGE =
      add(
          Setting.duration("history_age", Duration.ofHours(1))
              .check(positive())
              .in(c -> c.history().age()));

  /** Longest request a session record keeps whole; longer ones are kept truncated. */
  public static final Setting<Long> SESSION_REQUEST_BYTES =
      add(
          Setting.longBytes(SessionBudget.REQUEST_BYTES_KEY, 16L * 1024)
              .check(atLeast(1024))
              .in(c -> c.history().requestBytes()));

  /** Longest result (compact JSON) the history keeps whole; longer ones are kept truncated. */
  public static final Setting<Long> SESSION_RESULT_BYTES =
      add(
          Setting.longBytes(SessionBudget.RESULT_BYTES_KEY, 64L * 1024)
              .check(atLeast(1024))
              .in(c -> c.history().resultBytes()));

  /** Most bytes one owner's session records (running and history) keep; HTTP's have one. */
  public static final Setting<Long> SESSION_BYTES_PER_OWNER =
      add(
          Setting.longBytes(SessionBudget.BYTES_PER_OWNER_KEY, 32L * 1024 * 1024)
              .check(atLeast(64 * 1024))
              .in(c -> c.history().bytesPerOwner()));

  /** Most bytes all session records keep; unset, {@link History} computes it from the heap. */
  public static final Setting<Long> SESSION_BYTES =
      add(
          Setting.longBytes(SessionBudget.BYTES_KEY, null)
              .check(b -> b == null || b >= 64 * 1024, "must be at least 65536")
              .in(c -> c.history().bytes()));

  /** Most outcomes held for one offline owner. */
  public static final Setting<Integer> HELD_OUTCOMES_PER_OWNER =
      add(
          Setting.integer(HeldOutcomes.Limits.PER_OWNER_KEY, 1000)
              .check(atLeast(1))
              .in(c -> c.history().heldPerOwner()));

  /** Most bytes of outcomes held for one offline owner. */
  public static final Setting<Long> HELD_BYTES_PER_OWNER =
      add(
          Setting.longBytes(HeldOutcomes.Limits.BYTES_PER_OWNER_KEY, 64L * 1024 * 1024)
              .check(atLeast(64 * 1024))
              .in(c -> c.history().heldBytesPerOwner()));

  /** Most bytes of held outcomes in total; unset, {@link History} computes it from the heap. */
  public static final Setting<Long> HELD_BYTES =
      add(
          Setting.longBytes(HeldOutcomes.Limits.BYTES_KEY, null)
              .check(b -> b == null || b >= 64 * 1024, "must be at least 65536")
              .in(c -> c.history().heldBytes()));

  /** How long an outcome is held for its owner; unset, history_age. */
  public static final Setting<Duration> HELD_AGE =
      add(
          Setting.duration(HeldOutcomes.Limits.AGE_KEY, null)
              .check(
                  d -> d == null || (!d.isNegative() && !d.isZero()),
                  "must be a positive duration such as 1h")
              .in(c -> c.history().heldAge()));

  /** Device task limit where its device config sets none (0: none). */
  public static final Setting<Integer> DEFAULT_MAX_CONCURRENT_TASKS =
      add(
          Setting.integer("default_max_concurrent_tasks", 0)
              .check(atLeast(0))
              .in(c -> c.limits().defaultMaxConcurrentTasks()));

  /** Threads accepting connections. */
  public static final Setting<Integer> BOSS_THREADS =
      add(Setting.integer("boss_threads", 1).check(atLeast(1)).in(c -> c.listen().bossThreads()));

  /** Threads serving connections (0: Netty's default, twice the cores). */
  public static final Setting<Integer> WORKER_THREADS =
      add(
          Setting.integer("worker_threads", 0)
              .check(atLeast(0))
              .in(c -> c.listen().workerThreads()));

  /** Accept queue length. */
  public static final Setting<Integer> SO_BACKLOG =
      add(Setting.integer("so_backlog", 1024).check(atLeast(1)).in(c -> c.listen().soBacklog()));

  /** Bytes queued for a client below which it is writable again. */
  public static final Setting<Integer> WRITE_BUFFER_LOW =
      add(
          Setting.bytes("write_buffer_low", 32 * 1024)
              .check(atLeast(1024))
              .in(c -> c.limits().writeBufferLow()));

  /** Bytes queued for a client above which it is unwritable; above write_buffer_low. */
  public static final Setting<Integer> WRITE_BUFFER_HIGH =
      add(
          Setting.bytes("write_buffer_high", 64 * 1024)
              .limitedBy("write_buffer_low")
              .in(c -> c.limits().writeBufferHigh()));

  /** How long a client may stay unwritable before it is closed. */
  public static final Setting<Duration> SLOW_CONSUMER_TIMEOUT =
      add(
          Setting.duration("slow_consumer_timeout", Duration.ofSeconds(10))
              .check(positive())
              .in(c -> c.timeouts().slowConsumer()));

  /** Bytes queued for a client at which it is closed at once; unset, {@link Limits} computes it. */
  public static final Setting<Long> SLOW_CONSUMER_MAX_BYTES =
      add(
          Setting.longBytes("slow_consumer_max_bytes", null)
              .limitedBy("write_buffer_high")
              .in(c -> c.limits().slowConsumerMaxBytes()));

  /** How long a graceful shutdown may take. */
  public static final Setting<Duration> SHUTDOWN_GRACE =
      add(
          Setting.duration("shutdown_grace", Duration.ofSeconds(10))
              .check(positive())
              .in(c -> c.timeouts().shutdownGrace()));

  /** Browser origins allowed to connect ({@code *} for any). */
  public static final Setting<List<String>> ALLOWED_ORIGINS =
      add(Setting.list("allowed_origins").in(c -> c.security().allowedOrigins()));

  /** {@code Host} header names accepted ({@code *} for any; empty: see {@link Security}). */
  public static final Setting<List<String>> ALLOWED_HOSTS =
      add(Setting.list("allowed_hosts").in(c -> c.security().allowedHosts()));

  /** Most open sockets (0: what the open-file limit allows, minus headroom). */
  public static final Setting<Integer> MAX_CONNECTIONS =
      add(
          Setting.integer("max_connections", 0)
              .check(atLeast(0))
              .in(c -> c.limits().maxConnections()));

  /** Most open sockets per source address (0: no limit). */
  public static final Setting<Integer> MAX_CONNECTIONS_PER_ADDRESS =
      add(
          Setting.integer("max_connections_per_address", 0)
              .check(atLeast(0))
              .in(c -> c.limits().maxConnectionsPerAddress()));

  /** WebSocket upgrades per source address and second (0: no limit). */
  public static final Setting<Integer> REGISTRATIONS_PER_ADDRESS_PER_SECOND =
      add(
          Setting.integer("registrations_per_address_per_second", 0)
              .check(atLeast(0))
              .in(c -> c.limits().registrationsPerAddressPerSecond()));

  /** Most running sessions one constellation may own (0: none). */
  public static final Setting<Integer> MAX_SESSIONS_PER_CONSTELLATION =
      add(
          Setting.integer("max_sessions_per_constellation", 1000)
              .check(atLeast(0))
              .in(c -> c.limits().maxSessionsPerConstellation()));

  /** Time a plain HTTP connection has to send a complete request (and, idle, between them). */
  public static final Setting<Duration> HANDSHAKE_TIMEOUT =
      add(
          Setting.duration("handshake_timeout", Duration.ofSeconds(10))
              .check(positive())
              .in(c -> c.timeouts().handshake()));

  /** How long a live holder of a client id has to answer a ping (0: no probe). */
  public static final Setting<Duration> PROBE_TIMEOUT =
      add(
          Setting.duration("probe_timeout", Duration.ofSeconds(2))
              .check(
                  d -> d != null && !d.isNegative(),
                  "must be 0 (no probe) or a positive duration such as 2s")
              .in(c -> c.timeouts().probe()));

  /** PEM certificate chain for wss:// and https://, or none for plain text. */
  public static final Setting<Path> TLS_CERT =
      add(Setting.path("tls_cert").limitedBy("tls_key").in(c -> c.tls().cert()));

  /** PEM private key (PKCS#8) matching tls_cert, or none. */
  public static final Setting<Path> TLS_KEY =
      add(Setting.path("tls_key").limitedBy("tls_cert").in(c -> c.tls().key()));

  /** Redis URI of the cluster backplane, or none for a single node. */
  public static final Setting<String> CLUSTER_REDIS =
      add(
          Setting.string("cluster.redis", null)
              .check(
                  r -> r == null || r.startsWith("redis://") || r.startsWith("rediss://"),
                  "must be a URI like redis://127.0.0.1:6379")
              .in(c -> c.cluster().redis()));

  /** This node's id in the cluster, or none to generate one. */
  public static final Setting<String> CLUSTER_NODE_ID =
      add(
          Setting.string("cluster.node_id", null)
              .check(
                  n -> n == null || n.matches("[A-Za-z0-9._-]{1,64}"),
                  "must be 1-64 letters, digits, '.', '_' or '-'")
              .in(c -> c.cluster().nodeId()));

  /** How long the cluster keeps a node's clients after its last lease renewal. */
  public static final Setting<Duration> CLUSTER_LEASE =
      add(
          Setting.duration("cluster.lease", Duration.ofSeconds(10))
              .check(positive())
              .in(c -> c.cluster().lease()));

  /** How often a node renews its lease and checks its peers'; shorter than the lease. */
  public static final Setting<Duration> CLUSTER_RENEW_INTERVAL =
      add(
          Setting.duration("cluster.renew_interval", Duration.ofSeconds(3))
              .check(positive())
              .in(c -> c.cluster().renewInterval()));

  private static final List<Setting<?>> ALL = List.copyOf(TABLE);
  private static final Map<String, Setting<?>> BY_KEY = byKey(ALL);

  private Settings() {}

  /** Every setting, in the loader's order. */
  public static List<Setting<?>> all() {
    return ALL;
  }

  /** The setting with this YAML key, or {@code null}. */
  public static Setting<?> byKey(String key) {
    return BY_KEY.get(key);
  }

  /** {@code true} or {@code false} (any case, as YAML or text), or {@code null}. */
  private static Boolean flag(String word) {
    if ("true".equalsIgnoreCase(word)) {
      return Boolean.TRUE;
    }
    if ("false".equalsIgnoreCase(word)) {
      return Boolean.FALSE;
    }
    return null;
  }

  private static <T> Setting<T> add(Setting<T> s) {
    if (!s.readable()) {
      throw new IllegalStateException(s.key() + " is declared without its section accessor");
    }
    TABLE.add(s);
    return s;
  }

  private static Map<String, Setting<?>> byKey(List<Setting<?>> all) {
    Map<String, Setting<?>> m = new LinkedHashMap<>();
    for (Setting<?> s : all) {
      if (m.put(s.key(), s) != null) {
        throw new IllegalStateException("setting " + s.key() + " is declared twice");
      }
    }
    return Map.copyOf(m);
  }
}
