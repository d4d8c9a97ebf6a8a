package org.aiphub.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.device.DeviceConfig;
import org.aiphub.core.device.DeviceConfigException;
import org.aiphub.core.device.DeviceConfigLoader;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.ConfigException;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.netty.ConnectionEvents;
import org.aiphub.server.netty.HttpFallbackHandler;
import org.aiphub.server.netty.HubChannelInitializer;
import org.aiphub.server.netty.Transport;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.security.ApiKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running hub: the registry, the session table, the router and the Netty server around them. */
public final class HubServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HubServer.class);

  private final HubConfig config;
  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final TaskRouter router;
  private final Transport transport;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ChannelGroup channels;
  private final Channel serverChannel;

  private HubServer(HubConfig config) throws InterruptedException {
    this.config = config;
    Clock clock = Clock.systemUTC();
    this.registry =
        new ClientRegistry(
            config.duplicatePolicy(),
            loadDeviceConfig(config),
            config.defaultMaxConcurrentTasks(),
            clock);
    this.sessions = new SessionTable(config.historySize(), config.historyAge(), clock);
    this.router = new TaskRouter(registry, sessions, clock, RouterEvents.NONE);
    this.transport = Transport.best();
    this.boss = new MultiThreadIoEventLoopGroup(config.bossThreads(), transport.ioHandlerFactory());
    this.workers =
        new MultiThreadIoEventLoopGroup(config.workerThreads(), transport.ioHandlerFactory());
    this.channels = new DefaultChannelGroup("aip-hub", GlobalEventExecutor.INSTANCE);
    try {
      ServerBootstrap b =
          new ServerBootstrap()
              .group(boss, workers)
              .channel(transport.serverChannel())
              .option(ChannelOption.SO_BACKLOG, config.soBacklog())
              .option(ChannelOption.SO_REUSEADDR, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childOption(
                  ChannelOption.WRITE_BUFFER_WATER_MARK,
                  new WriteBufferWaterMark(config.writeBufferLow(), config.writeBufferHigh()))
              .childHandler(
                  new HubChannelInitializer(
                      config,
                      ApiKey.of(config.apiKey()),
                      router,
                      channels,
                      ConnectionEvents.NONE,
                      new HttpFallbackHandler(config.wsPath())));
      this.serverChannel = b.bind(config.host(), config.port()).sync().channel();
    } catch (RuntimeException | InterruptedException e) {
      boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw e;
    }
    workers.next().scheduleAtFixedRate(sessions::evictExpired, 30, 30, TimeUnit.SECONDS);
  }

  /**
   * Starts a hub and binds its port.
   *
   * @throws ConfigException when the config has no API key or the device config is unusable
   */
  public static HubServer start(HubConfig config) throws InterruptedException {
    Objects.requireNonNull(config, "config");
    if (config.apiKey() == null) {
      throw new ConfigException("api_key: no key configured; generate one before starting");
    }
    HubServer hub = new HubServer(config);
    log.info(
        "AIP hub listening on {} ({}), AIP endpoint ws://{}:{}{}",
        hub.address(),
        hub.transport.name().toLowerCase(java.util.Locale.ROOT),
        config.host(),
        hub.port(),
        config.wsPath());
    return hub;
  }

  private static DeviceConfig loadDeviceConfig(HubConfig config) {
    if (config.deviceConfig() == null) {
      return DeviceConfig.empty();
    }
    try {
      return DeviceConfigLoader.load(config.deviceConfig());
    } catch (DeviceConfigException e) {
      throw new ConfigException("device_config: " + e.getMessage(), e);
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

  /** The transport in use. */
  public Transport transport() {
    return transport;
  }

  /** Stops accepting, closes every connection and stops the event loops. */
  @Override
  public void close() {
    serverChannel.close().awaitUninterruptibly();
    channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
