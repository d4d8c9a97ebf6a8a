package org.aiphub.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceConfigException;
import org.aiphub.core.device.DeviceConfigLoader;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.InMemoryHeldOutcomes;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.cluster.ClusterNode;
import org.aiphub.server.config.ConfigException;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.dashboard.DashboardState;
import org.aiphub.server.directory.ClientDirectory;
import org.aiphub.server.directory.ClusterView;
import org.aiphub.server.http.ApiRoutes;
import org.aiphub.server.logging.HubLog;
import org.aiphub.server.metrics.HubMetrics;
import org.aiphub.server.netty.ChannelHandlerNames;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.netty.CloseRequest;
import org.aiphub.server.netty.EventStream;
import org.aiphub.server.netty.HttpApiHandler;
import org.aiphub.server.netty.HubChannelInitializer;
import org.aiphub.server.netty.Transport;
import org.aiphub.server.route.ClientIds;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.security.AccessKeys;
import org.aiphub.server.security.AdmissionControl;
import org.aiphub.server.security.OriginPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running hub: the registry, the session table, the router, metrics and the Netty server around
 * them. {@link #shutdown()} stops it gracefully.
 */
public final class HubServer implements AutoCloseable {
  /** Error text of sessions failed because the hub stopped. */
  public static final String SERVER_SHUTDOWN = "server_shutdown";

  private static final Logger log = LoggerFactory.getLogger(HubServer.class);

  private final HubConfig config;
  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final TaskRouter router;
  private final HubMetrics metrics;
  private final ClusterNode cluster;
  private final DashboardState dashboard;
  private final EventStream feed;
  private final DeviceConfigReloader reloader;
  private final Transport transport;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ExecutorService blocking;
  private final ChannelGroup channels;
  private final AdmissionControl admission;
  private final Channel serverChannel;
  private boolean stopped;

  private HubServer(HubConfig config) throws InterruptedException {
    this.config = config;
    Clock clock = Clock.systemUTC();
    ClientIds ids = ClientIds.of(config.devices().unicodeIds());
    DeviceConfig devices = loadDeviceConfig(config);
    DeviceConfigReloader.warnAboutIds(devices, ids);
    this.registry =
        ClientRegistry.builder()
            .policy(config.devices().duplicatePolicy())
            .deviceConfig(devices)
            .defaultMaxConcurrentTasks(config.limits().defaultMaxConcurrentTasks())
            .maxSessionsPerOwner(config.limits().maxSessionsPerConstellation())
            .infoLimits(config.budgets().clientInfoLimits())
            .clock(clock)
            .folds(ids)
            .build();
    this.sessions =
        new SessionTable(
            config.history().size(),
            config.history().age(),
            config.history().budget(),
            new InMemoryHeldOutcomes(config.history().heldLimits(), clock),
            clock);
    // Loaded before any thread exists: a bad certificate then stops start-up with nothing to undo.
    SslContext tls = tlsContext(config);
    this.transport = Transport.best();
    this.boss =
        new MultiThreadIoEventLoopGroup(
            config.listen().bossThreads(), transport.ioHandlerFactory());
    this.workers =
        new MultiThreadIoEventLoopGroup(
            config.listen().workerThreads(), transport.ioHandlerFactory());
    this.blocking =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "aip-hub-admin");
              t.setDaemon(true);
              return t;
            });
    this.channels = new DefaultChannelGroup("aip-hub", GlobalEventExecutor.INSTANCE);
    HubMetrics createdMetrics = null;
    ClusterNode createdCluster = null;
    try {
      this.metrics = createdMetrics = new HubMetrics(registry, sessions, workers, channels::size);
      HubLog hubLog = new HubLog();
      this.cluster =
          createdCluster =
              config.cluster().enabled()
                  ? new ClusterNode(config, registry, sessions, metrics.registry())
                  : null;
      List<RouterEvents> routerListeners =
          cluster == null ? List.of(metrics, hubLog) : List.of(metrics, hubLog, cluster);
      this.dashboard =
          new DashboardState(
              registry,
              sessions,
              clock,
              cluster == null ? null : id -> cluster.nodeOfClient(id).orElse(cluster.nodeId()));
      List<RouterEvents> withDashboard = new java.util.ArrayList<>(routerListeners);
      withDashboard.add(dashboard);
      EventFanout events = new EventFanout(withDashboard, List.of(metrics, hubLog));
      // One node's directory in cluster mode too, for now: ClusterNode still claims ids in Redis
      // when it hears RouterEvents.registered. Its own ClientDirectory goes here.
      this.router = new TaskRouter(registry, sessions, clock, events, ClientDirectory.singleNode());
      sessions.onHeldDropped((outcome, why) -> events.heldOutcomeDropped(outcome, why.label()));
      if (cluster != null) {
        cluster.onMirrorChanged(dashboard::mirrorChanged);
      }
      this.reloader =
          new DeviceConfigReloader(
              config.devices().configFile(),
              registry,
              () -> {
                dashboard.devicesReconfigured();
                if (cluster != null) {
                  cluster.deviceConfigReloaded();
                }
              });
      AccessKeys keys = AccessKeys.of(config.security().apiKey(), config.security().adminKey());
      keys.warnWithoutOperatorKey();
      OriginPolicy origins =
          new OriginPolicy(
              config.security().allowedHosts(),
              config.security().allowedOrigins(),
              config.listen().host());
      this.admission =
          new AdmissionControl(
              config.limits().maxConnections(),
              config.limits().maxConnectionsPerAddress(),
              config.limits().registrationsPerAddressPerSecond(),
              System::nanoTime);
      this.feed = new EventStream(dashboard, workers.next(), ByteBufAllocator.DEFAULT, events);
      ApiRoutes routes =
          new ApiRoutes(
              registry, sessions, router, metrics::scrape, reloader, clock, clusterView());
      ServerBootstrap b =
          new ServerBootstrap()
              .group(boss, workers)
              .channel(transport.serverChannel())
              .option(ChannelOption.SO_BACKLOG, config.listen().soBacklog())
              .option(ChannelOption.SO_REUSEADDR, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childOption(
                  ChannelOption.WRITE_BUFFER_WATER_MARK,
                  new WriteBufferWaterMark(
                      config.limits().writeBufferLow(), config.limits().writeBufferHigh()))
              .childHandler(
                  new HubChannelInitializer(
                      config,
                      keys,
                      router,
                      channels,
                      events,
                      new HttpApiHandler(
                          routes,
                          keys,
                          blocking,
                          metrics::httpRequest,
                          origins,
                          feed,
                          events::requestRefused),
                      admission,
                      origins,
                      tls,
                      null));
      this.serverChannel = bind(b, config);
    } catch (RuntimeException | InterruptedException e) {
      // Event-loop threads are not daemons: a failed start must stop them (and whatever else it
      // started) or an embedding JVM hangs.
      blocking.shutdownNow();
      if (createdCluster != null) {
        createdCluster.close();
      }
      stopLoops(Duration.ZERO);
      if (createdMetrics != null) {
        createdMetrics.close();
      }
      throw e;
    }
    if (cluster != null) {
      cluster.start(router);
    }
    workers
        .next()
        .scheduleAtFixedRate(FatalErrors.guard(sessions::evictExpired), 30, 30, TimeUnit.SECONDS);
    workers.next().scheduleAtFixedRate(FatalErrors.guard(admission::sweep), 5, 5, TimeUnit.SECONDS);
  }

  private static SslContext tlsContext(HubConfig config) {
    if (!config.tls().enabled()) {
      return null;
    }
    try {
      return SslContextBuilder.forServer(config.tls().cert().toFile(), config.tls().key().toFile())
          .build();
    } catch (SSLException | IllegalArgumentException e) {
      throw ConfigException.invalid(
          "tls_cert",
          config.tls().cert(),
          "cannot load it and tls_key "
              + config.tls().key()
              + " as a PEM certificate chain and PKCS#8 private key: "
              + e.getMessage());
    }
  }

  private static Channel bind(ServerBootstrap b, HubConfig config) throws InterruptedException {
    io.netty.channel.ChannelFuture f =
        b.bind(config.listen().host(), config.listen().port()).await();
    if (!f.isSuccess()) {
      throw bindFailure(config.listen().host(), config.listen().port(), f.cause());
    }
    return f.channel();
  }

  /** Which setting a failed bind blames: the host when it names no local address, else the port. */
  static ConfigException bindFailure(String host, int port, Throwable cause) {
    String why = cause == null ? null : cause.getMessage();
    if (cause instanceof java.nio.channels.UnresolvedAddressException
        || cause instanceof java.net.UnknownHostException) {
      return ConfigException.invalid("host", host, "cannot resolve this name to an address");
    }
    if (why != null && why.toLowerCase(Locale.ROOT).contains("assign requested address")) {
      return ConfigException.invalid("host", host, "not an address of this machine");
    }
    String detail =
        why == null || why.isBlank() ? cause == null ? "unknown error" : cause.toString() : why;
    return ConfigException.invalid(
        "port", port, "cannot listen on " + hostForUrl(host) + ":" + port + ": " + detail);
  }

  /**
   * Starts a hub and binds its port.
   *
   * @throws ConfigException when the config has no API key or the device config is unusable
   */
  public static HubServer start(HubConfig config) throws InterruptedException {
    Objects.requireNonNull(config, "config");
    if (config.security().apiKey() == null) {
      throw new ConfigException("api_key: no key configured; generate one before starting");
    }
    HubServer hub = new HubServer(config);
    String base = "127.0.0.1:" + hub.port();
    if (!"0.0.0.0".equals(config.listen().host()) && !"::".equals(config.listen().host())) {
      base = hostForUrl(config.listen().host()) + ":" + hub.port();
    }
    log.info(
        "AIP hub listening on {} ({}): AIP endpoint {}://{}{}?token=KEY, HTTP API {}://{}/api/,"
            + " metrics {}://{}/metrics",
        hub.address(),
        hub.transport.name().toLowerCase(Locale.ROOT),
        config.tls().enabled() ? "wss" : "ws",
        base,
        config.listen().wsPath(),
        config.tls().enabled() ? "https" : "http",
        base,
        config.tls().enabled() ? "https" : "http",
        base);
    return hub;
  }

  private static String hostForUrl(String host) {
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  private static DeviceConfig loadDeviceConfig(HubConfig config) {
    if (config.devices().configFile() == null) {
      return DeviceConfig.empty();
    }
    try {
      return DeviceConfigLoader.load(config.devices().configFile());
    } catch (DeviceConfigException e) {
      throw ConfigException.invalid("device_config", config.devices().configFile(), e.getMessage());
    }
  }

  /** The bound address. */
  public InetSocketAddress address() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** The bound port (the real one when the config asked for port 0). */
  public int port() {
    return address().getPort();
  }

  /** The settings this hub runs with. */
  public HubConfig config() {
    return config;
  }

  /** The client registry. */
  public ClientRegistry registry() {
    return registry;
  }

  /** The session table. */
  public SessionTable sessions() {
    return sessions;
  }

  /** The task router. */
  public TaskRouter router() {
    return router;
  }

  /** The metrics. */
  public HubMetrics metrics() {
    return metrics;
  }

  /** Re-reads the device config (what SIGHUP and the reload route do). */
  public DeviceConfigReloader reloader() {
    return reloader;
  }

  /** This node's cluster membership, when cluster mode is on. */
  public Optional<ClusterNode> cluster() {
    return Optional.ofNullable(cluster);
  }

  /**
   * Stops as a crash would, for failure tests: the cluster hears nothing (no release, no lease
   * renewal) and every socket is cut without a close handshake or any session outcome.
   */
  public synchronized void kill() {
    if (stopped) {
      return;
    }
    stopped = true;
    feed.close();
    if (cluster != null) {
      cluster.kill();
    }
    serverChannel.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
    channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    blocking.shutdownNow();
    stopLoops(Duration.ZERO);
    metrics.close();
  }

  /** The transport in use. */
  public Transport transport() {
    return transport;
  }

  /**
   * Stops gracefully within the configured grace time: stop accepting, refuse new work, fail every
   * running session with {@value #SERVER_SHUTDOWN} and tell its owner and device, close every
   * WebSocket with 1001 after what was queued for it, then stop the event loops. Idempotent.
   */
  public synchronized void shutdown() {
    if (stopped) {
      return;
    }
    stopped = true;
    long deadline = System.nanoTime() + config.timeouts().shutdownGrace().toNanos();
    serverChannel.close().awaitUninterruptibly(remaining(deadline), TimeUnit.NANOSECONDS);
    router.beginShutdown();
    int failed = router.failAll(SERVER_SHUTDOWN);
    for (Channel ch : channels) {
      if (ch.pipeline().get(ChannelHandlerNames.CONNECTION) != null) {
        // Queued on the channel's event loop after the task_end frames written above.
        ch.pipeline()
            .fireUserEventTriggered(
                new CloseRequest(CloseCodes.GOING_AWAY, "server shutting down", false));
      } else {
        ch.close();
      }
    }
    if (!channels
        .newCloseFuture()
        .awaitUninterruptibly(remaining(deadline), TimeUnit.NANOSECONDS)) {
      log.warn("grace time over with {} connections open; closing them", channels.size());
      channels.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
    }
    blocking.shutdownNow();
    feed.close();
    if (cluster != null) {
      cluster.close(); // after the sockets: their departures are published first
    }
    stopLoops(Duration.ofNanos(remaining(deadline)));
    metrics.close();
    log.info("AIP hub stopped ({} running sessions failed with {})", failed, SERVER_SHUTDOWN);
  }

  private static long remaining(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }

  private void stopLoops(Duration timeout) {
    long ms = Math.max(100, timeout.toMillis());
    workers.shutdownGracefully(0, ms, TimeUnit.MILLISECONDS);
    boss.shutdownGracefully(0, ms, TimeUnit.MILLISECONDS);
    workers.terminationFuture().awaitUninterruptibly(ms + 1000, TimeUnit.MILLISECONDS);
    boss.terminationFuture().awaitUninterruptibly(ms + 1000, TimeUnit.MILLISECONDS);
  }

  /** Same as {@link #shutdown()}. */
  @Override
  public void close() {
    shutdown();
  }

  /** What the HTTP API shows of the cluster, or null on a single node. */
  private ClusterView clusterView() {
    if (cluster == null) {
      return null;
    }
    ClusterNode node = cluster;
    return new ClusterView() {
      @Override
      public Snapshot snapshot() {
        ClusterNode.View v = node.view();
        return new Snapshot(v.nodeId(), v.degraded(), v.nodes());
      }

      @Override
      public String nodeOf(String clientId) {
        return node.nodeOfClient(clientId).orElse(node.nodeId());
      }
    };
  }
}
