package org.aiphub.server;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.aiphub.core.device.DeviceConfigException;
import org.aiphub.server.config.ConfigException;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.config.HubConfigLoader;
import org.aiphub.server.config.Settings;
import org.aiphub.server.security.ApiKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Command-line entry point: {@code java -jar hub-server.jar [options]}. Settings come from flags,
 * then {@code HUB_*} environment variables, then the {@code --config} file, then the defaults. Exit
 * codes: 0 after a graceful stop, 2 for a configuration that cannot be used.
 */
@Command(
    name = "aip-hub",
    mixinStandardHelpOptions = true,
    versionProvider = HubMain.Version.class,
    sortOptions = false,
    description = {
      "Connection hub for UFO device agents and Galaxy constellations (AIP over WebSocket).",
      "Every hub.yaml key can also be set as an environment variable HUB_<KEY>, e.g. HUB_PORT."
    })
public final class HubMain {
  /** Exit code for a configuration that cannot be used. */
  public static final int EXIT_CONFIG = 2;

  private static final Logger log = LoggerFactory.getLogger(HubMain.class);

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "YAML config file (see config/hub.yaml); env HUB_CONFIG.")
  Path config;

  @Option(names = "--host", description = "Address to bind (default 127.0.0.1).")
  String host;

  @Option(names = "--port", description = "Port to bind (default 5000; 0 picks a free port).")
  String port;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      description = "Shared key clients present (default: generated and printed once).")
  String apiKey;

  @Option(
      names = "--admin-key",
      paramLabel = "KEY",
      description =
          "Operator key for the HTTP API, /metrics and the dashboard (default: none, and those"
              + " accept the client key).")
  String adminKey;

  @Option(
      names = "--device-config",
      paramLabel = "FILE",
      description = "Device config file (.yaml, .yml or .json).")
  String deviceConfig;

  /**
   * Parses arguments and starts a hub.
   *
   * @return the running hub, or null when the process should exit with {@code exitCode[0]} (help,
   *     version, or an error already printed to {@code err})
   */
  public static HubServer launch(
      String[] args, Map<String, String> env, PrintStream out, PrintStream err, int[] exitCode)
      throws InterruptedException {
    HubMain main = new HubMain();
    CommandLine cli = new CommandLine(main);
    try {
      cli.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      err.println("aip-hub: " + e.getMessage());
      cli.usage(err);
      exitCode[0] = EXIT_CONFIG;
      return null;
    }
    if (cli.isUsageHelpRequested()) {
      cli.usage(out);
      exitCode[0] = 0;
      return null;
    }
    if (cli.isVersionHelpRequested()) {
      cli.printVersionHelp(out);
      exitCode[0] = 0;
      return null;
    }
    HubConfigLoader.Loaded loaded;
    try {
      loaded = main.resolve(env);
    } catch (ConfigException e) {
      err.println("aip-hub: " + e.getMessage());
      exitCode[0] = EXIT_CONFIG;
      return null;
    }
    HubConfig config = loaded.config();
    if (config.security().apiKey() == null) {
      String key = ApiKey.generate();
      config = config.withApiKey(key);
      out.println("No API key configured; generated one for this run:");
      out.println();
      out.println("    " + key);
      out.println();
      out.println(
          "WebSocket clients: ws://HOST:PORT"
              + config.listen().wsPath()
              + "?token=KEY  (or header Authorization: Bearer KEY)");
      out.println(
          config.security().adminKey() == null
              ? "HTTP API: header X-API-Key: KEY. Set api_key, HUB_API_KEY or --api-key to keep"
                  + " one."
              : "HTTP API and dashboard: the operator key (admin_key). Set api_key, HUB_API_KEY"
                  + " or --api-key to keep a client key.");
      out.flush();
    }
    try {
      return HubServer.start(config);
    } catch (ConfigException e) {
      err.println("aip-hub: " + loaded.locate(e).getMessage());
      exitCode[0] = EXIT_CONFIG;
      return null;
    }
  }

  private static void reloadDevices(HubServer hub) {
    if (!hub.reloader().configured()) {
      log.info("SIGHUP ignored: no device_config is configured");
      return;
    }
    try {
      hub.reloader().reload();
    } catch (DeviceConfigException | RuntimeException e) {
      log.warn("SIGHUP reload failed: {}", e.getMessage());
    }
  }

  private HubConfigLoader.Loaded resolve(Map<String, String> env) {
    Path file = config;
    if (file == null && env.get("HUB_CONFIG") != null) {
      file = Path.of(env.get("HUB_CONFIG"));
    }
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put(Settings.HOST.key(), host);
    flags.put(Settings.PORT.key(), port);
    flags.put(Settings.API_KEY.key(), apiKey);
    flags.put(Settings.ADMIN_KEY.key(), adminKey);
    flags.put(Settings.DEVICE_CONFIG.key(), deviceConfig);
    return HubConfigLoader.loadWithSources(file, env, flags);
  }

  /** Starts the hub and serves until SIGTERM or SIGINT, then stops gracefully and exits 0. */
  public static void main(String[] args) throws InterruptedException {
    // First: an OutOfMemoryError anywhere, even during start-up, ends the process (exit code 3).
    FatalErrors.exitOnFatal();
    // Handlers go in before start-up, so a signal during a slow start still stops cleanly.
    CountDownLatch stopRequested = new CountDownLatch(1);
    boolean term = Signals.handle("TERM", stopRequested::countDown);
    boolean intr = Signals.handle("INT", stopRequested::countDown);
    AtomicReference<HubServer> running = new AtomicReference<>();
    if (!term || !intr) {
      // Without signal handlers the JVM's own shutdown still lets the hub stop gracefully.
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    HubServer h = running.get();
                    if (h != null) {
                      h.shutdown();
                    }
                  },
                  "aip-hub-shutdown"));
    }
    // A SIGHUP that arrives while the hub is still starting (it may already be serving: the port
    // is announced before start-up returns here) is applied once it is up, not dropped: the file
    // may have changed after the hub first read it.
    CompletableFuture<HubServer> started = new CompletableFuture<>();
    boolean hup =
        Signals.handle(
            "HUP",
            () -> {
              HubServer hub = running.get();
              if (hub == null) {
                log.info(
                    "SIGHUP during start-up: the device config is reloaded once the hub is up");
                started.thenAccept(HubMain::reloadDevices);
                return;
              }
              reloadDevices(hub);
            });
    if (!hup) {
      log.warn(
          "SIGHUP cannot reach the hub (ignored since start-up, as under nohup): reload the"
              + " device config with POST /api/admin/reload-devices");
    }
    int[] code = {0};
    HubServer hub = launch(args, System.getenv(), System.out, System.err, code);
    if (hub == null) {
      flushLogs();
      System.exit(code[0]);
      return;
    }
    running.set(hub);
    started.complete(hub);
    stopRequested.await();
    hub.shutdown();
    flushLogs();
    System.exit(0);
  }

  /**
   * Stops Logback, which drains its asynchronous appender: its worker is a daemon thread, so
   * System.exit would otherwise drop the last lines (such as "AIP hub stopped").
   */
  private static void flushLogs() {
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext) {
      ((ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory()).stop();
    }
  }

  /** Reports the build version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = HubMain.class.getPackage().getImplementationVersion();
      return new String[] {"aip-hub " + (v == null ? "(development build)" : v)};
    }
  }
}
