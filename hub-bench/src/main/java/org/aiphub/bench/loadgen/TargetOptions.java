package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Which server a mode drives, and how it runs: in this JVM, spawned, or already running. */
final class TargetOptions {
  /** Where a target runs when the options do not say. */
  enum Placement {
    IN_PROCESS,
    SPAWN
  }

  @Option(
      names = "--target",
      paramLabel = "hub|floor|node",
      description = "Server to drive: the hub, the floor relay or the Node relay (default hub).")
  String target = "hub";

  @Option(
      names = "--hub",
      paramLabel = "URL",
      description =
          "Drive an already running server at this URL, e.g. ws://127.0.0.1:5000/ws?token=KEY.")
  URI url;

  @Option(
      names = "--server-pid",
      paramLabel = "PID",
      description = "With --hub: the server's local pid, to read its CPU, RSS and heap.")
  long serverPid = -1;

  @Option(
      names = {"--spawn", "--spawn-hub"},
      description = "Start the server in its own process so its CPU and RSS are its own.")
  boolean spawn;

  @Option(
      names = "--in-process",
      description = "Run the hub or floor relay inside this JVM (no server CPU or RSS readings).")
  boolean inProcess;

  @Option(
      names = "--hub-jar",
      paramLabel = "FILE",
      description = "Executable hub jar (default: hub-server/target/hub-server.jar).")
  Path hubJar;

  @Option(
      names = "--server-java-opts",
      paramLabel = "OPTS",
      description =
          "JVM options of a spawned hub or floor relay, e.g. \"-Xmx1g -XX:+UseParallelGC\".")
  String serverJavaOpts = "";

  @Option(
      names = "--server-env",
      paramLabel = "KEY=VALUE",
      description = "Environment of a spawned server, e.g. HUB_WORKER_THREADS=2 (repeatable).")
  Map<String, String> serverEnv = new LinkedHashMap<>();

  @Option(
      names = "--hub-event-logs",
      description =
          "Keep a spawned hub's per-connection and per-session INFO log lines (off by default).")
  boolean hubEventLogs;

  @Option(
      names = "--node-relay-dir",
      paramLabel = "DIR",
      description = "The Node relay (default: hub-bench/baselines/node-relay).")
  Path nodeRelayDir;

  TargetKind kind() {
    return TargetKind.parse(target);
  }

  List<String> javaOpts() {
    String s = serverJavaOpts.trim();
    return s.isEmpty() ? List.of() : Arrays.asList(s.split("\\s+"));
  }

  Path hubJar() {
    if (hubJar != null) {
      return hubJar;
    }
    Path p =
        Targets.firstExisting(
            "hub-server/target/hub-server.jar", "../hub-server/target/hub-server.jar");
    return p == null ? Path.of("hub-server/target/hub-server.jar") : p;
  }

  Path nodeRelayDir() {
    if (nodeRelayDir != null) {
      return nodeRelayDir.toAbsolutePath();
    }
    return Targets.firstExisting("hub-bench/baselines/node-relay", "baselines/node-relay");
  }

  /** Opens the target of {@code kind} the way these options say, else as {@code placement}. */
  Target open(TargetKind kind, Placement placement, PrintWriter log) throws InterruptedException {
    if (url != null) {
      return Targets.external(kind, url, serverPid);
    }
    if (spawn && inProcess) {
      throw new LoadGenException("--spawn and --in-process exclude each other");
    }
    boolean here = inProcess || (!spawn && placement == Placement.IN_PROCESS);
    if (kind == TargetKind.NODE) {
      if (inProcess) {
        throw new LoadGenException("the Node relay cannot run in-process");
      }
      String problem = Targets.nodeProblem(nodeRelayDir());
      if (problem != null) {
        throw new LoadGenException(problem);
      }
      return announce(Targets.spawnNode(nodeRelayDir(), serverEnv), log);
    }
    if (here) {
      return announce(
          kind == TargetKind.HUB ? Targets.inProcessHub() : Targets.inProcessFloor(), log);
    }
    return announce(
        kind == TargetKind.HUB
            ? Targets.spawnHub(hubJar(), javaOpts(), serverEnv, hubEventLogs)
            : Targets.spawnFloor(javaOpts(), serverEnv),
        log);
  }

  private static Target announce(Target t, PrintWriter log) {
    log.printf("%s server: %s at %s%n", t.kind().label(), t.how(), Report.redact(t.uri()));
    log.flush();
    return t;
  }
}
