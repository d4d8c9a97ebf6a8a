package org.aiphub.bench.loadgen;

import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.CLUSTER_LEASE;
import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.aiphub.server.config.Settings.CLUSTER_RENEW_INTERVAL;
import static org.aiphub.server.config.Settings.HOST;
import static org.aiphub.server.config.Settings.PORT;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.aiphub.bench.baseline.FloorRelay;
import org.aiphub.server.HubServer;
import org.aiphub.server.config.HubConfig;

/** Starts or names the servers a run drives. */
final class Targets {
  private static final long START_TIMEOUT_MS = 60_000;

  /**
   * The hub's logging for benchmarks: its start-up line and warnings, without the per-connection
   * and per-session INFO lines (the hub's own logback.xml says to turn those down on busy hubs).
   */
  private static final String BENCH_LOGBACK =
      "<configuration>\n"
          + "  <appender name=\"CONSOLE\" class=\"ch.qos.logback.core.ConsoleAppender\">\n"
          + "    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{24} - %msg%n</pattern>"
          + "</encoder>\n"
          + "  </appender>\n"
          + "  <appender name=\"ASYNC\" class=\"ch.qos.logback.classic.AsyncAppender\">\n"
          + "    <queueSize>8192</queueSize><neverBlock>true</neverBlock>\n"
          + "    <appender-ref ref=\"CONSOLE\"/>\n"
          + "  </appender>\n"
          + "  <logger name=\"io.netty\" level=\"WARN\"/>\n"
          + "  <logger name=\"org.aiphub.sessions\" level=\"WARN\"/>\n"
          + "  <logger name=\"org.aiphub.clients\" level=\"WARN\"/>\n"
          + "  <root level=\"INFO\"><appender-ref ref=\"ASYNC\"/></root>\n"
          + "</configuration>\n";

  private Targets() {}

  static String newApiKey() {
    byte[] b = new byte[16];
    new SecureRandom().nextBytes(b);
    return "loadgen-" + HexFormat.of().formatHex(b);
  }

  /** A hub inside this JVM on a free loopback port (CPU and RSS cannot be told apart). */
  static Target inProcessHub() throws InterruptedException {
    Logging.quietHubEvents();
    String key = newApiKey();
    HubServer hub =
        HubServer.start(
            HubConfig.builder().set(HOST, "127.0.0.1").set(PORT, 0).set(API_KEY, key).build());
    URI uri = URI.create("ws://127.0.0.1:" + hub.port() + "/ws?token=" + key);
    return new Simple(TargetKind.HUB, "in-process", uri, -1, hub::shutdown);
  }

  /**
   * A cluster node inside this JVM on a free loopback port, on the Redis at {@code redisUrl} (for
   * smoke runs and tests of the {@code cluster} mode: no separate CPU or RSS).
   */
  static Target inProcessClusterNode(
      String redisUrl, String nodeId, java.time.Duration lease, java.time.Duration renew)
      throws InterruptedException {
    Logging.quietHubEvents();
    String key = newApiKey();
    HubServer hub =
        HubServer.start(
            HubConfig.builder()
                .set(HOST, "127.0.0.1")
                .set(PORT, 0)
                .set(API_KEY, key)
                .set(CLUSTER_REDIS, redisUrl)
                .set(CLUSTER_NODE_ID, nodeId)
                .set(CLUSTER_LEASE, lease)
                .set(CLUSTER_RENEW_INTERVAL, renew)
                .build());
    URI uri = URI.create("ws://127.0.0.1:" + hub.port() + "/ws?token=" + key);
    return new Simple(TargetKind.HUB, "in-process, node " + nodeId, uri, -1, hub::shutdown);
  }

  /** A floor relay inside this JVM on a free loopback port. */
  static Target inProcessFloor() throws InterruptedException {
    FloorRelay relay = FloorRelay.start("127.0.0.1", 0, 0);
    URI uri = URI.create("ws://127.0.0.1:" + relay.port() + "/ws");
    return new Simple(TargetKind.FLOOR, "in-process", uri, -1, relay::close);
  }

  /** hub-server.jar in its own JVM. */
  static Target spawnHub(
      Path jar, List<String> javaOpts, Map<String, String> env, boolean eventLogs) {
    if (!Files.isRegularFile(jar)) {
      throw new LoadGenException(
          "hub jar "
              + jar
              + " not found: build it with './mvnw -B -q package -DskipTests -pl hub-server -am'"
              + " or pass --hub-jar");
    }
    String key = newApiKey();
    List<String> cmd = new ArrayList<>();
    cmd.add(javaExecutable());
    cmd.addAll(javaOpts);
    if (!eventLogs) {
      cmd.add("-Dlogback.configurationFile=" + benchLogback());
    }
    cmd.addAll(List.of("-jar", jar.toString(), "--host", "127.0.0.1", "--port", "0"));
    cmd.addAll(List.of("--api-key", key));
    ServerProcess p = ServerProcess.start("hub", cmd, env, null, START_TIMEOUT_MS);
    URI uri = URI.create("ws://127.0.0.1:" + p.port() + "/ws?token=" + key);
    return spawned(TargetKind.HUB, p, uri);
  }

  /** The floor relay in its own JVM, from this JVM's class path. */
  static Target spawnFloor(List<String> javaOpts, Map<String, String> env) {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaExecutable());
    cmd.addAll(javaOpts);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
    cmd.addAll(List.of(FloorRelay.class.getName(), "--host", "127.0.0.1", "--port", "0"));
    ServerProcess p = ServerProcess.start("floor", cmd, env, null, START_TIMEOUT_MS);
    return spawned(TargetKind.FLOOR, p, URI.create("ws://127.0.0.1:" + p.port() + "/ws"));
  }

  /** The Node.js ws relay; see {@link #nodeProblem(Path)} first. */
  static Target spawnNode(Path dir, Map<String, String> env) {
    List<String> cmd = List.of("node", "relay.js", "--host", "127.0.0.1", "--port", "0");
    ServerProcess p = ServerProcess.start("node", cmd, env, dir, START_TIMEOUT_MS);
    return spawned(TargetKind.NODE, p, URI.create("ws://127.0.0.1:" + p.port() + "/ws"));
  }

  /** A server someone else runs; {@code pid} (or -1) lets the run read its /proc entries. */
  static Target external(TargetKind kind, URI uri, long pid) {
    return new Simple(kind, pid > 0 ? "external, pid " + pid : "external", uri, pid, () -> {});
  }

  private static Target spawned(TargetKind kind, ServerProcess p, URI uri) {
    return new Simple(kind, "spawned, pid " + p.pid() + ", log " + p.log(), uri, p.pid(), p::close);
  }

  /** Why the Node relay cannot run from {@code dir}, or null when it can. */
  static String nodeProblem(Path dir) {
    if (dir == null || !Files.isRegularFile(dir.resolve("relay.js"))) {
      return "the Node relay (hub-bench/baselines/node-relay/relay.js) was not found;"
          + " run from the repository root or pass --node-relay-dir";
    }
    if (!Files.isRegularFile(dir.resolve("node_modules/ws/package.json"))) {
      return "the Node relay's dependencies are not installed: run hub-bench/baselines/install.sh";
    }
    try {
      Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
      try (InputStream in = p.getInputStream()) {
        in.readAllBytes();
      }
      if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        return "'node --version' failed";
      }
    } catch (IOException e) {
      return "node is not installed (not on PATH)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted while looking for node";
    }
    return null;
  }

  /** {@code node --version}, or "?" when it cannot be read. */
  static String nodeVersion() {
    try {
      Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
      String v;
      try (InputStream in = p.getInputStream()) {
        v = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
      p.waitFor(20, TimeUnit.SECONDS);
      return v;
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static Path benchLogback() {
    try {
      Path f = Files.createTempFile("loadgen-hub-logback-", ".xml");
      Files.writeString(f, BENCH_LOGBACK);
      f.toFile().deleteOnExit();
      return f;
    } catch (IOException e) {
      throw new LoadGenException("cannot write a logback config: " + e.getMessage(), e);
    }
  }

  /** The first of {@code candidates} (relative to the working directory) that exists, or null. */
  static Path firstExisting(String... candidates) {
    for (String c : candidates) {
      Path p = Path.of(c);
      if (Files.exists(p)) {
        return p.toAbsolutePath().normalize();
      }
    }
    return null;
  }

  private record Simple(TargetKind kind, String how, URI uri, long pid, Runnable stop)
      implements Target {
    @Override
    public void close() {
      stop.run();
    }
  }
}
