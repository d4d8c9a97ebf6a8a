package org.aiphub.server;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.aiphub.server.config.ConfigException;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.security.ApiKey;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Command-line entry point: {@code java -jar hub-server.jar [options]}. */
@Command(
    name = "aip-hub",
    mixinStandardHelpOptions = true,
    versionProvider = HubMain.Version.class,
    description =
        "Connection hub for UFO device agents and Galaxy constellations (AIP over WebSocket).")
public final class HubMain implements Callable<Integer> {
  /** Exit code for a configuration that cannot be used. */
  public static final int EXIT_CONFIG = 2;

  @Option(names = "--host", description = "Address to bind (default 127.0.0.1).")
  String host;

  @Option(names = "--port", description = "Port to bind (default 5000; 0 picks a free port).")
  Integer port;

  @Option(names = "--api-key", description = "Shared key clients present (default: generated).")
  String apiKey;

  @Option(names = "--device-config", description = "Device config file (.yaml, .yml or .json).")
  Path deviceConfig;

  @Override
  public Integer call() throws Exception {
    HubConfig.Builder b = HubConfig.builder();
    if (host != null) {
      b.host(host);
    }
    if (port != null) {
      b.port(port);
    }
    if (deviceConfig != null) {
      b.deviceConfig(deviceConfig);
    }
    HubConfig config;
    try {
      config = b.apiKey(apiKey).build();
    } catch (ConfigException e) {
      System.err.println("aip-hub: " + e.getMessage());
      return EXIT_CONFIG;
    }
    if (config.apiKey() == null) {
      String key = ApiKey.generate();
      config = config.withApiKey(key);
      System.out.println("No API key configured; generated one for this run:");
      System.out.println("  " + key);
      System.out.println("Clients connect to ws://HOST:PORT" + config.wsPath() + "?token=<key>");
    }
    HubServer hub;
    try {
      hub = HubServer.start(config);
    } catch (ConfigException e) {
      System.err.println("aip-hub: " + e.getMessage());
      return EXIT_CONFIG;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  hub.close();
                  stopped.countDown();
                },
                "aip-hub-shutdown"));
    stopped.await();
    return 0;
  }

  /** Starts the hub; exits with 2 on a configuration error. */
  public static void main(String[] args) {
    int code = new CommandLine(new HubMain()).execute(args);
    if (code != 0) {
      System.exit(code);
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
