package org.aiphub.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.aiphub.core.registry.DuplicatePolicy;

/**
 * Every server setting, immutable and validated: a bad value throws a {@link ConfigException}
 * naming the key and the value. {@link #defaults()} gives the embedded defaults documented in
 * {@code config/hub.yaml}.
 *
 * @param host address to bind
 * @param port TCP port (0 picks a free one)
 * @param wsPath path of the AIP WebSocket endpoint
 * @param apiKey shared key clients present; {@code null} until start-up generates one
 * @param deviceConfig device config file, or {@code null} for none
 * @param duplicatePolicy what a registration with an online id gets
 * @param registrationTimeout how long a new socket may take to register
 * @param idleTimeout silence after which a connection is pinged
 * @param pingTimeout how long a pinged connection has to answer before it is closed
 * @param maxFrameBytes largest WebSocket message (after reassembly of fragments)
 * @param maxFragmentsPerMessage most frames one WebSocket message may come in
 * @param maxJsonDepth deepest JSON nesting accepted in a frame
 * @param maxBodyBytes largest HTTP request body
 * @param badFramesPerMinute undecodable frames a client may send per minute before it is closed
 * @param historySize finished sessions kept for look-ups and redelivery
 * @param historyAge how long finished sessions are kept
 * @param defaultMaxConcurrentTasks device task limit where its config sets none (0: none)
 * @param bossThreads threads accepting connections
 * @param workerThreads threads serving connections (0: Netty's default, twice the cores)
 * @param soBacklog accept queue length
 * @param writeBufferLow bytes queued for a client below which it is writable again
 * @param writeBufferHigh bytes queued for a client above which it is unwritable
 * @param slowConsumerTimeout how long a client may stay unwritable before it is closed
 * @param slowConsumerMaxBytes bytes queued for a client at which it is closed at once
 * @param shutdownGrace how long a graceful shutdown may take
 * @param allowedOrigins browser origins allowed to connect ({@code *} for any)
 * @param allowedHosts {@code Host} header names accepted ({@code *} for any); empty means the
 *     loopback names when bound to loopback, and any name otherwise
 * @param maxConnections most open sockets (0: what the open-file limit allows, minus headroom)
 * @param maxConnectionsPerAddress most open sockets per source address (0: no limit)
 * @param registrationsPerAddressPerSecond WebSocket upgrades per source address and second (0: no
 *     limit)
 * @param maxSessionsPerConstellation most running sessions one constellation may own (0: none)
 * @param handshakeTimeout time a plain HTTP connection has to send a complete request (and, idle,
 *     between requests)
 * @param probeTimeout how long a live holder of a client id has to answer a ping before a new
 *     registration with that id replaces it
 * @param tlsCert PEM certificate chain for wss:// and https://, or {@code null} for plain text
 * @param tlsKey PEM private key (PKCS#8) matching {@code tlsCert}, or {@code null}
 * @param clusterRedis Redis URI ({@code redis://HOST:PORT}) of the cluster backplane, or {@code
 *     null} for a single node
 * @param clusterNodeId this node's id in the cluster, or {@code null} to generate one
 * @param clusterLease how long the cluster keeps a node's clients after its last lease renewal
 * @param clusterRenewInterval how often a node renews its lease and checks its peers'
 */
public record HubConfig(
    String host,
    int port,
    String wsPath,
    String apiKey,
    Path deviceConfig,
    DuplicatePolicy duplicatePolicy,
    Duration registrationTimeout,
    Duration idleTimeout,
    Duration pingTimeout,
    int maxFrameBytes,
    int maxFragmentsPerMessage,
    int maxJsonDepth,
    int maxBodyBytes,
    int badFramesPerMinute,
    int historySize,
    Duration historyAge,
    int defaultMaxConcurrentTasks,
    int bossThreads,
    int workerThreads,
    int soBacklog,
    int writeBufferLow,
    int writeBufferHigh,
    Duration slowConsumerTimeout,
    long slowConsumerMaxBytes,
    Duration shutdownGrace,
    List<String> allowedOrigins,
    List<String> allowedHosts,
    int maxConnections,
    int maxConnectionsPerAddress,
    int registrationsPerAddressPerSecond,
    int maxSessionsPerConstellation,
    Duration handshakeTimeout,
    Duration probeTimeout,
    Path tlsCert,
    Path tlsKey,
    String clusterRedis,
    String clusterNodeId,
    Duration clusterLease,
    Duration clusterRenewInterval) {

  /** Validates every setting. */
  public HubConfig {
    if (host == null || host.isBlank()) {
      throw ConfigException.invalid("host", host, "must be a host name or address");
    }
    if (port < 0 || port > 65535) {
      throw ConfigException.invalid("port", port, "must be between 0 and 65535");
    }
    if (wsPath == null || !wsPath.startsWith("/") || wsPath.length() < 2 || wsPath.contains("?")) {
      throw ConfigException.invalid("ws_path", wsPath, "must be a path like /ws");
    }
    if (wsPath.startsWith("/api/") || wsPath.equals("/metrics") || wsPath.equals("/healthz")) {
      throw ConfigException.invalid("ws_path", wsPath, "collides with an HTTP route");
    }
    if (apiKey != null && apiKey.length() < 8) {
      throw ConfigException.invalid("api_key", "(hidden)", "must have at least 8 characters");
    }
    if (duplicatePolicy == null) {
      throw ConfigException.invalid("duplicate_policy", null, "must be reject or takeover");
    }
    positive("registration_timeout", registrationTimeout);
    positive("idle_timeout", idleTimeout);
    positive("ping_timeout", pingTimeout);
    positive("history_age", historyAge);
    positive("slow_consumer_timeout", slowConsumerTimeout);
    positive("shutdown_grace", shutdownGrace);
    atLeast("max_frame_bytes", maxFrameBytes, 1024);
    atLeast("max_fragments_per_message", maxFragmentsPerMessage, 1);
    atLeast("max_json_depth", maxJsonDepth, 2);
    atLeast("max_body_bytes", maxBodyBytes, 1024);
    atLeast("bad_frames_per_minute", badFramesPerMinute, 1);
    atLeast("history_size", historySize, 1);
    atLeast("default_max_concurrent_tasks", defaultMaxConcurrentTasks, 0);
    atLeast("boss_threads", bossThreads, 1);
    atLeast("worker_threads", workerThreads, 0);
    atLeast("so_backlog", soBacklog, 1);
    atLeast("write_buffer_low", writeBufferLow, 1024);
    if (writeBufferHigh <= writeBufferLow) {
      throw ConfigException.invalid(
          "write_buffer_high", writeBufferHigh, "must be above write_buffer_low " + writeBufferLow);
    }
    if (slowConsumerMaxBytes <= writeBufferHigh) {
      throw ConfigException.invalid(
          "slow_consumer_max_bytes",
          slowConsumerMaxBytes,
          "must be above write_buffer_high " + writeBufferHigh);
    }
    if (slowConsumerMaxBytes < 2L * maxFrameBytes) {
      // One accepted message is forwarded with its envelope; a bound below it would close every
      // reader of a big result as a slow consumer, again on each redelivery of that result.
      throw ConfigException.invalid(
          "slow_consumer_max_bytes",
          slowConsumerMaxBytes,
          "must be at least twice max_frame_bytes " + maxFrameBytes);
    }
    allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
    allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
    atLeast("max_connections", maxConnections, 0);
    atLeast("max_connections_per_address", maxConnectionsPerAddress, 0);
    atLeast("registrations_per_address_per_second", registrationsPerAddressPerSecond, 0);
    atLeast("max_sessions_per_constellation", maxSessionsPerConstellation, 0);
    positive("handshake_timeout", handshakeTimeout);
    if (probeTimeout == null || probeTimeout.isNegative()) {
      throw ConfigException.invalid(
          "probe_timeout", probeTimeout, "must be 0 (no probe) or a positive duration such as 2s");
    }
    if (clusterRedis != null
        && !(clusterRedis.startsWith("redis://") || clusterRedis.startsWith("rediss://"))) {
      throw ConfigException.invalid(
          "cluster.redis", clusterRedis, "must be a URI like redis://127.0.0.1:6379");
    }
    if (clusterNodeId != null && !clusterNodeId.matches("[A-Za-z0-9._-]{1,64}")) {
      throw ConfigException.invalid(
          "cluster.node_id", clusterNodeId, "must be 1-64 letters, digits, '.', '_' or '-'");
    }
    positive("cluster.lease", clusterLease);
    positive("cluster.renew_interval", clusterRenewInterval);
    if (clusterRenewInterval.compareTo(clusterLease) >= 0) {
      throw ConfigException.invalid(
          "cluster.renew_interval",
          clusterRenewInterval,
          "must be shorter than cluster.lease " + clusterLease);
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw ConfigException.invalid(
          tlsCert == null ? "tls_cert" : "tls_key",
          null,
          "tls_cert and tls_key must be set together");
    }
  }

  /** Whether this node is part of a cluster (a Redis backplane is configured). */
  public boolean clustered() {
    return clusterRedis != null;
  }

  /** Whether the hub serves wss:// and https:// (a certificate and key are configured). */
  public boolean tls() {
    return tlsCert != null;
  }

  /** Lists the settings with the API key hidden: configs get logged, keys must not. */
  @Override
  public String toString() {
    return "HubConfig[host="
        + host
        + ", port="
        + port
        + ", wsPath="
        + wsPath
        + ", apiKey="
        + (apiKey == null ? "none" : "(hidden)")
        + ", deviceConfig="
        + deviceConfig
        + ", duplicatePolicy="
        + duplicatePolicy.wire()
        + ", registrationTimeout="
        + registrationTimeout
        + ", idleTimeout="
        + idleTimeout
        + ", maxFrameBytes="
        + maxFrameBytes
        + ", historySize="
        + historySize
        + ", workerThreads="
        + workerThreads
        + ", tls="
        + tls()
        + ", cluster="
        + (clusterRedis == null ? "off" : "on")
        + "]";
  }

  /** The embedded defaults: loopback, port 5000, {@code /ws}, no key yet, no device config. */
  public static HubConfig defaults() {
    return builder().build();
  }

  /** A builder preset with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder preset with this config's values. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** The same config with another API key (start-up generates one when none is configured). */
  public HubConfig withApiKey(String key) {
    return toBuilder().apiKey(key).build();
  }

  private static void positive(String key, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw ConfigException.invalid(key, d, "must be a positive duration such as 10s");
    }
  }

  private static void atLeast(String key, long value, long min) {
    if (value < min) {
      throw ConfigException.invalid(key, value, "must be at least " + min);
    }
  }

  /** The least {@code slow_consumer_max_bytes} when it is left unset (16 MiB). */
  public static final long DEFAULT_SLOW_CONSUMER_MAX_BYTES = 16L * 1024 * 1024;

  /** Mutable builder; {@link #build()} validates. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 5000;
    private String wsPath = "/ws";
    private String apiKey;
    private Path deviceConfig;
    private DuplicatePolicy duplicatePolicy = DuplicatePolicy.REJECT;
    private Duration registrationTimeout = Duration.ofSeconds(10);
    private Duration idleTimeout = Duration.ofSeconds(90);
    private Duration pingTimeout = Duration.ofSeconds(10);
    private int maxFrameBytes = 4 * 1024 * 1024;
    private int maxFragmentsPerMessage = 4096;
    private int maxJsonDepth = 64;
    private int maxBodyBytes = 1024 * 1024;
    private int badFramesPerMinute = 20;
    private int historySize = 10_000;
    private Duration historyAge = Duration.ofHours(1);
    private int defaultMaxConcurrentTasks = 0;
    private int bossThreads = 1;
    private int workerThreads = 0;
    private int soBacklog = 1024;
    private int writeBufferLow = 32 * 1024;
    private int writeBufferHigh = 64 * 1024;
    private Duration slowConsumerTimeout = Duration.ofSeconds(10);

    /** 0: derived from max_frame_bytes at build time (see {@link #build}). */
    private long slowConsumerMaxBytes;

    private Duration shutdownGrace = Duration.ofSeconds(10);
    private List<String> allowedOrigins = List.of();
    private List<String> allowedHosts = List.of();
    private int maxConnections = 0;
    private int maxConnectionsPerAddress = 0;
    private int registrationsPerAddressPerSecond = 0;
    private int maxSessionsPerConstellation = 1000;
    private Duration handshakeTimeout = Duration.ofSeconds(10);
    private Duration probeTimeout = Duration.ofSeconds(2);
    private Path tlsCert;
    private Path tlsKey;
    private String clusterRedis;
    private String clusterNodeId;
    private Duration clusterLease = Duration.ofSeconds(10);
    private Duration clusterRenewInterval = Duration.ofSeconds(3);

    Builder() {}

    Builder(HubConfig c) {
      host = c.host;
      port = c.port;
      wsPath = c.wsPath;
      apiKey = c.apiKey;
      deviceConfig = c.deviceConfig;
      duplicatePolicy = c.duplicatePolicy;
      registrationTimeout = c.registrationTimeout;
      idleTimeout = c.idleTimeout;
      pingTimeout = c.pingTimeout;
      maxFrameBytes = c.maxFrameBytes;
      maxFragmentsPerMessage = c.maxFragmentsPerMessage;
      maxJsonDepth = c.maxJsonDepth;
      maxBodyBytes = c.maxBodyBytes;
      badFramesPerMinute = c.badFramesPerMinute;
      historySize = c.historySize;
      historyAge = c.historyAge;
      defaultMaxConcurrentTasks = c.defaultMaxConcurrentTasks;
      bossThreads = c.bossThreads;
      workerThreads = c.workerThreads;
      soBacklog = c.soBacklog;
      writeBufferLow = c.writeBufferLow;
      writeBufferHigh = c.writeBufferHigh;
      slowConsumerTimeout = c.slowConsumerTimeout;
      slowConsumerMaxBytes = c.slowConsumerMaxBytes;
      shutdownGrace = c.shutdownGrace;
      allowedOrigins = c.allowedOrigins;
      allowedHosts = c.allowedHosts;
      maxConnections = c.maxConnections;
      maxConnectionsPerAddress = c.maxConnectionsPerAddress;
      registrationsPerAddressPerSecond = c.registrationsPerAddressPerSecond;
      maxSessionsPerConstellation = c.maxSessionsPerConstellation;
      handshakeTimeout = c.handshakeTimeout;
      probeTimeout = c.probeTimeout;
      tlsCert = c.tlsCert;
      tlsKey = c.tlsKey;
      clusterRedis = c.clusterRedis;
      clusterNodeId = c.clusterNodeId;
      clusterLease = c.clusterLease;
      clusterRenewInterval = c.clusterRenewInterval;
    }

    /** Sets {@code host}. */
    public Builder host(String v) {
      host = v;
      return this;
    }

    /** Sets {@code port}. */
    public Builder port(int v) {
      port = v;
      return this;
    }

    /** Sets {@code ws_path}. */
    public Builder wsPath(String v) {
      wsPath = v;
      return this;
    }

    /** Sets {@code api_key}. */
    public Builder apiKey(String v) {
      apiKey = v;
      return this;
    }

    /** Sets {@code device_config}. */
    public Builder deviceConfig(Path v) {
      deviceConfig = v;
      return this;
    }

    /** Sets {@code duplicate_policy}. */
    public Builder duplicatePolicy(DuplicatePolicy v) {
      duplicatePolicy = v;
      return this;
    }

    /** Sets {@code registration_timeout}. */
    public Builder registrationTimeout(Duration v) {
      registrationTimeout = v;
      return this;
    }

    /** Sets {@code idle_timeout}. */
    public Builder idleTimeout(Duration v) {
      idleTimeout = v;
      return this;
    }

    /** Sets {@code ping_timeout}. */
    public Builder pingTimeout(Duration v) {
      pingTimeout = v;
      return this;
    }

    /** Sets {@code max_frame_bytes}. */
    public Builder maxFrameBytes(int v) {
      maxFrameBytes = v;
      return this;
    }

    /** Sets {@code max_fragments_per_message}. */
    public Builder maxFragmentsPerMessage(int v) {
      maxFragmentsPerMessage = v;
      return this;
    }

    /** Sets {@code max_json_depth}. */
    public Builder maxJsonDepth(int v) {
      maxJsonDepth = v;
      return this;
    }

    /** Sets {@code max_body_bytes}. */
    public Builder maxBodyBytes(int v) {
      maxBodyBytes = v;
      return this;
    }

    /** Sets {@code bad_frames_per_minute}. */
    public Builder badFramesPerMinute(int v) {
      badFramesPerMinute = v;
      return this;
    }

    /** Sets {@code history_size}. */
    public Builder historySize(int v) {
      historySize = v;
      return this;
    }

    /** Sets {@code history_age}. */
    public Builder historyAge(Duration v) {
      historyAge = v;
      return this;
    }

    /** Sets {@code default_max_concurrent_tasks}. */
    public Builder defaultMaxConcurrentTasks(int v) {
      defaultMaxConcurrentTasks = v;
      return this;
    }

    /** Sets {@code boss_threads}. */
    public Builder bossThreads(int v) {
      bossThreads = v;
      return this;
    }

    /** Sets {@code worker_threads}. */
    public Builder workerThreads(int v) {
      workerThreads = v;
      return this;
    }

    /** Sets {@code so_backlog}. */
    public Builder soBacklog(int v) {
      soBacklog = v;
      return this;
    }

    /** Sets {@code write_buffer_low}. */
    public Builder writeBufferLow(int v) {
      writeBufferLow = v;
      return this;
    }

    /** Sets {@code write_buffer_high}. */
    public Builder writeBufferHigh(int v) {
      writeBufferHigh = v;
      return this;
    }

    /** Sets {@code slow_consumer_timeout}. */
    public Builder slowConsumerTimeout(Duration v) {
      slowConsumerTimeout = v;
      return this;
    }

    /** Sets {@code slow_consumer_max_bytes}. */
    public Builder slowConsumerMaxBytes(long v) {
      slowConsumerMaxBytes = v;
      return this;
    }

    /** Sets {@code shutdown_grace}. */
    public Builder shutdownGrace(Duration v) {
      shutdownGrace = v;
      return this;
    }

    /** Sets {@code allowed_origins}. */
    public Builder allowedOrigins(List<String> v) {
      allowedOrigins = v;
      return this;
    }

    /** Sets {@code allowed_hosts}. */
    public Builder allowedHosts(List<String> v) {
      allowedHosts = v;
      return this;
    }

    /** Sets {@code max_connections}. */
    public Builder maxConnections(int v) {
      maxConnections = v;
      return this;
    }

    /** Sets {@code max_connections_per_address}. */
    public Builder maxConnectionsPerAddress(int v) {
      maxConnectionsPerAddress = v;
      return this;
    }

    /** Sets {@code registrations_per_address_per_second}. */
    public Builder registrationsPerAddressPerSecond(int v) {
      registrationsPerAddressPerSecond = v;
      return this;
    }

    /** Sets {@code max_sessions_per_constellation}. */
    public Builder maxSessionsPerConstellation(int v) {
      maxSessionsPerConstellation = v;
      return this;
    }

    /** Sets {@code handshake_timeout}. */
    public Builder handshakeTimeout(Duration v) {
      handshakeTimeout = v;
      return this;
    }

    /** Sets {@code probe_timeout}. */
    public Builder probeTimeout(Duration v) {
      probeTimeout = v;
      return this;
    }

    /** Sets {@code tls_cert}. */
    public Builder tlsCert(Path v) {
      tlsCert = v;
      return this;
    }

    /** Sets {@code tls_key}. */
    public Builder tlsKey(Path v) {
      tlsKey = v;
      return this;
    }

    /** Sets {@code cluster.redis}. */
    public Builder clusterRedis(String v) {
      clusterRedis = v;
      return this;
    }

    /** Sets {@code cluster.node_id}. */
    public Builder clusterNodeId(String v) {
      clusterNodeId = v;
      return this;
    }

    /** Sets {@code cluster.lease}. */
    public Builder clusterLease(Duration v) {
      clusterLease = v;
      return this;
    }

    /** Sets {@code cluster.renew_interval}. */
    public Builder clusterRenewInterval(Duration v) {
      clusterRenewInterval = v;
      return this;
    }

    /** Validates and builds. */
    public HubConfig build() {
      // Unset, the bound follows max_frame_bytes, so raising the frame limit alone works.
      long slowConsumerMaxBytes =
          this.slowConsumerMaxBytes > 0
              ? this.slowConsumerMaxBytes
              : Math.max(DEFAULT_SLOW_CONSUMER_MAX_BYTES, 4L * maxFrameBytes);
      return new HubConfig(
          host,
          port,
          wsPath,
          apiKey,
          deviceConfig,
          duplicatePolicy,
          registrationTimeout,
          idleTimeout,
          pingTimeout,
          maxFrameBytes,
          maxFragmentsPerMessage,
          maxJsonDepth,
          maxBodyBytes,
          badFramesPerMinute,
          historySize,
          historyAge,
          defaultMaxConcurrentTasks,
          bossThreads,
          workerThreads,
          soBacklog,
          writeBufferLow,
          writeBufferHigh,
          slowConsumerTimeout,
          slowConsumerMaxBytes,
          shutdownGrace,
          allowedOrigins,
          allowedHosts,
          maxConnections,
          maxConnectionsPerAddress,
          registrationsPerAddressPerSecond,
          maxSessionsPerConstellation,
          handshakeTimeout,
          probeTimeout,
          tlsCert,
          tlsKey,
          clusterRedis,
          clusterNodeId,
          clusterLease,
          clusterRenewInterval);
    }
  }
}
