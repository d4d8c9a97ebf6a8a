package org.aiphub.bench.loadgen;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cluster}: a private Redis and two hub nodes in cluster mode; the same rate load twice in
 * one run, same-node (devices and constellations on node A) and cross-node (devices on A,
 * constellations on B), and the cross/same ratios.
 */
@Command(
    name = "cluster",
    header = "Cross-node vs same-node round trips on a two-node hub cluster, in one run.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Starts a private redis-server and two hub nodes in cluster mode (each spawned in its own",
      "process), then runs the same open-loop rate load twice: same-node (devices and",
      "constellations on node A) and cross-node (devices on node A, constellations on node B,",
      "so every task and task_end crosses Redis). Prints both latency distributions and",
      "throughputs, the CPU per task of node A, node B and Redis, and the cross/same ratios."
    })
final class ClusterCommand implements Callable<Integer> {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Pattern DEGRADED = Pattern.compile("\"degraded\"\\s*:\\s*true");
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Spec CommandSpec spec;

  @Mixin LoadOptions load = new LoadOptions();

  @Option(
      names = "--order",
      split = ",",
      paramLabel = "LIST",
      description = "Runs in order: same,cross (default) or cross,same; one of them alone works.")
  List<String> order = List.of("same", "cross");

  @Option(
      names = "--pause",
      converter = DurationConverter.class,
      description = "Pause between the runs (default 2s).")
  Duration pause = Duration.ofSeconds(2);

  @Option(
      names = "--client-warmup",
      converter = DurationConverter.class,
      description =
          "Before the first run, run the same load this long against an in-process floor relay"
              + " and discard it, so the load generator's own JIT is warm for both runs; 0 skips"
              + " it (default 10s).")
  Duration clientWarmup = Duration.ofSeconds(10);

  @Option(
      names = "--redis-server",
      paramLabel = "FILE",
      description = "The redis-server binary (default: redis-server on PATH).")
  String redisBinary = "redis-server";

  @Option(
      names = "--lease",
      converter = DurationConverter.class,
      description = "The nodes' cluster.lease (default: the hub's, 10s).")
  Duration lease;

  @Option(
      names = "--renew-interval",
      converter = DurationConverter.class,
      description = "The nodes' cluster.renew_interval (default: the hub's, 3s).")
  Duration renewInterval;

  @Option(
      names = "--hub-jar",
      paramLabel = "FILE",
      description = "Executable hub jar (default: hub-server/target/hub-server.jar).")
  Path hubJar;

  @Option(
      names = "--server-java-opts",
      paramLabel = "OPTS",
      description = "JVM options of both spawned nodes, e.g. \"-Xmx1g -XX:+UseParallelGC\".")
  String serverJavaOpts = "";

  @Option(
      names = "--server-env",
      paramLabel = "KEY=VALUE",
      description = "Environment of both nodes, e.g. HUB_WORKER_THREADS=2 (repeatable).")
  Map<String, String> serverEnv = new LinkedHashMap<>();

  @Option(
      names = "--hub-event-logs",
      description = "Keep the nodes' per-connection and per-session INFO log lines.")
  boolean hubEventLogs;

  @Option(
      names = "--in-process",
      description =
          "Run both nodes inside this JVM (smoke runs and tests: no CPU or RSS of the nodes).")
  boolean inProcess;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
  Path json;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    for (String o : order) {
      if (!o.equals("same") && !o.equals("cross")) {
        throw new IllegalArgumentException("--order takes same and cross, got '" + o + "'");
      }
    }
    RateSettings s = load.settings();
    if (!clientWarmup.isZero()) {
      CompareCommand.warmClient(s, clientWarmup, out);
    }
    Map<String, RateRun.Measured> runs = new LinkedHashMap<>();
    try (RedisServer redis = RedisServer.start(redisBinary)) {
      out.printf("redis: %s, pid %d, log %s%n", redis.url(), redis.pid(), redis.log());
      try (Target a = node(redis, "node-a", out);
          Target b = node(redis, "node-b", out)) {
        awaitListed(List.of(a, b), List.of(), "node-a", "node-b");
        for (String mode : order) {
          if (!runs.isEmpty()) {
            Thread.sleep(pause.toMillis());
          }
          Target constellationsOn = mode.equals("same") ? a : b;
          out.printf(
              "%n-- %s-node: devices on node A, constellations on node %s%n",
              mode, mode.equals("same") ? "A" : "B");
          out.flush();
          RateRun.Measured m =
              RateRun.run(
                  a,
                  constellationsOn,
                  List.of(a.pid(), b.pid(), redis.pid()),
                  s,
                  out,
                  ids -> awaitListed(List.of(a, b), ids));
          Report.printRate(out, m.result());
          printNodes(out, m);
          runs.put(mode, m);
        }
      }
    }
    Map<String, Object> ratios = printTable(out, runs);
    if (json != null) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("mode", "cluster");
      m.put("environment", Report.environment());
      Map<String, Object> cluster = new LinkedHashMap<>();
      cluster.put("nodes", 2);
      cluster.put("placement", inProcess ? "in-process" : "spawned");
      cluster.put("lease_ms", lease == null ? null : lease.toMillis());
      cluster.put("renew_interval_ms", renewInterval == null ? null : renewInterval.toMillis());
      m.put("cluster", cluster);
      Map<String, Object> results = new LinkedHashMap<>();
      runs.forEach(
          (mode, r) -> {
            Map<String, Object> one = Report.rate(r.result());
            one.put("node_a", server(r.servers().get(0)));
            one.put("node_b", server(r.servers().get(1)));
            one.put("redis", server(r.servers().get(2)));
            one.put("cpu_us_per_task_total", totalCpu(r, true));
            results.put(mode, one);
          });
      m.put("results", results);
      m.put("ratios", ratios);
      JsonOut.write(json, m);
      out.printf("wrote %s%n", json);
    }
    boolean errors = runs.values().stream().anyMatch(r -> r.result().counts().errors() > 0);
    return errors ? LoadGen.EXIT_ERRORS : 0;
  }

  private Target node(RedisServer redis, String nodeId, PrintWriter out)
      throws InterruptedException {
    Duration l = lease == null ? Duration.ofSeconds(10) : lease;
    Duration r = renewInterval == null ? Duration.ofSeconds(3) : renewInterval;
    Target t;
    if (inProcess) {
      t = Targets.inProcessClusterNode(redis.url(), nodeId, l, r);
    } else {
      Map<String, String> env = new LinkedHashMap<>(serverEnv);
      env.put("HUB_CLUSTER_REDIS", redis.url());
      env.put("HUB_CLUSTER_NODE_ID", nodeId);
      env.put("HUB_CLUSTER_LEASE", l.toMillis() + "ms");
      env.put("HUB_CLUSTER_RENEW_INTERVAL", r.toMillis() + "ms");
      t = Targets.spawnHub(hubJar(), javaOpts(), env, hubEventLogs);
    }
    out.printf("%s: %s at %s%n", nodeId, t.how(), Report.redact(t.uri()));
    out.flush();
    return t;
  }

  private Path hubJar() {
    if (hubJar != null) {
      return hubJar;
    }
    Path p =
        Targets.firstExisting(
            "hub-server/target/hub-server.jar", "../hub-server/target/hub-server.jar");
    return p == null ? Path.of("hub-server/target/hub-server.jar") : p;
  }

  private List<String> javaOpts() {
    String o = serverJavaOpts.trim();
    return o.isEmpty() ? List.of() : List.of(o.split("\\s+"));
  }

  /**
   * Waits until every node's {@code /api/clients} lists {@code ids} and its {@code /api/stats}
   * names every node in {@code nodeIds} (the cluster is formed and the mirrors caught up).
   */
  static void awaitListed(List<Target> nodes, List<String> ids, String... nodeIds) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    for (Target t : nodes) {
      while (true) {
        String missing = missing(t, ids, nodeIds);
        if (missing == null) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new LoadGenException(
              Report.redact(t.uri()) + " did not see " + missing + " within " + READY_TIMEOUT);
        }
        try {
          Thread.sleep(50); // polling the node's HTTP API
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new LoadGenException("interrupted while waiting for the cluster", e);
        }
      }
    }
  }

  /** What {@code node} does not list yet, or null. */
  private static String missing(Target node, List<String> ids, String... nodeIds) {
    String clients = get(node, "/api/clients");
    if (clients == null) {
      return "its own HTTP API";
    }
    for (String id : ids) {
      if (!clients.contains("\"" + id + "\"")) {
        return "client " + id;
      }
    }
    if (nodeIds.length > 0) {
      String stats = get(node, "/api/stats");
      if (stats == null || DEGRADED.matcher(stats).find()) {
        return "the cluster backplane (Redis)";
      }
      for (String n : nodeIds) {
        if (!stats.contains("\"" + n + "\"")) {
          return "node " + n;
        }
      }
    }
    return null;
  }

  /** GET on the node's HTTP API with its key (taken from the WebSocket URL), or null. */
  private static String get(Target node, String path) {
    URI ws = node.uri();
    String query = ws.getQuery() == null ? "" : ws.getQuery();
    String key = "";
    for (String part : query.split("&")) {
      if (part.startsWith("token=")) {
        key = part.substring("token=".length());
      }
    }
    URI uri = URI.create("http://" + ws.getHost() + ":" + ws.getPort() + path);
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(uri)
                  .header("X-API-Key", key)
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LoadGenException("interrupted", e);
    }
  }

  private static Map<String, Object> server(ServerUsage u) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("measured", u.measured());
    m.put("cpu_us", u.cpuMicros());
    m.put("cpu_us_per_task", u.cpuMicrosPerTask());
    m.put("cpu_cores_busy", u.cpuUtilization());
    m.put("rss_bytes", u.rssBytes());
    m.put("rss_max_bytes", u.rssMaxBytes());
    m.put("thread_cpu_us", u.threadCpuMicros());
    return m;
  }

  /** CPU per task of both nodes, and of Redis too when {@code withRedis}. */
  private static double totalCpu(RateRun.Measured r, boolean withRedis) {
    double sum = 0;
    for (int i = 0; i < (withRedis ? 3 : 2); i++) {
      sum += r.servers().get(i).cpuMicrosPerTask();
    }
    return sum;
  }

  private static void printNodes(PrintWriter out, RateRun.Measured m) {
    String[] names = {"node A", "node B", "redis"};
    for (int i = 0; i < names.length; i++) {
      ServerUsage u = m.servers().get(i);
      if (!u.measured()) {
        out.printf("  %-17s CPU not measured (in-process)%n", names[i]);
        continue;
      }
      out.printf(
          "  %-17s CPU %s us/task (%s cores busy), RSS %s; %s%n",
          names[i],
          Report.num(u.cpuMicrosPerTask(), 1),
          Report.num(u.cpuUtilization(), 2),
          Report.mib(u.rssBytes()),
          Report.threads(u.threadCpuMicros()));
    }
    out.flush();
  }

  private static Map<String, Object> printTable(
      PrintWriter out, Map<String, RateRun.Measured> runs) {
    out.printf("%n== cluster: cross-node vs same-node (latency in us, from the scheduled send)%n");
    out.printf(
        "%-6s %8s %8s %8s %8s %9s %10s %9s %9s %9s %9s %9s %7s%n",
        "run",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "p50(send)",
        "tasks/s",
        "A us/t",
        "B us/t",
        "Redis",
        "A+B",
        "errors");
    for (Map.Entry<String, RateRun.Measured> e : runs.entrySet()) {
      RateResult r = e.getValue().result();
      List<ServerUsage> u = e.getValue().servers();
      Latency l = r.latency();
      out.printf(
          "%-6s %8s %8s %8s %8s %9s %10s %9s %9s %9s %9s %9s %7d%n",
          e.getKey(),
          Report.num(l.p50(), 1),
          Report.num(l.p90(), 1),
          Report.num(l.p99(), 1),
          Report.num(l.p999(), 1),
          Report.num(l.max(), 1),
          Report.num(r.latencyFromSend().p50(), 1),
          Report.num(r.throughput(), 1),
          Report.num(u.get(0).cpuMicrosPerTask(), 1),
          Report.num(u.get(1).cpuMicrosPerTask(), 1),
          Report.num(u.get(2).cpuMicrosPerTask(), 1),
          Report.num(totalCpu(e.getValue(), false), 1),
          r.counts().errors());
    }
    Map<String, Object> ratios = new LinkedHashMap<>();
    RateRun.Measured same = runs.get("same");
    RateRun.Measured cross = runs.get("cross");
    if (same != null && cross != null) {
      RateResult s = same.result();
      RateResult c = cross.result();
      ratios.put("p50", c.latency().p50() / s.latency().p50());
      ratios.put("p50_from_send", c.latencyFromSend().p50() / s.latencyFromSend().p50());
      ratios.put("p99", c.latency().p99() / s.latency().p99());
      ratios.put("throughput", c.throughput() / s.throughput());
      ratios.put("cpu_per_task_nodes", totalCpu(cross, false) / totalCpu(same, false));
      ratios.put("cpu_per_task_with_redis", totalCpu(cross, true) / totalCpu(same, true));
      out.printf(
          Locale.ROOT,
          "cross/same p50 %sx (from send %sx), p99 %sx, throughput %sx, CPU per task A+B %sx"
              + " (with Redis %sx)%n",
          Report.num((Double) ratios.get("p50"), 2),
          Report.num((Double) ratios.get("p50_from_send"), 2),
          Report.num((Double) ratios.get("p99"), 2),
          Report.num((Double) ratios.get("throughput"), 2),
          Report.num((Double) ratios.get("cpu_per_task_nodes"), 2),
          Report.num((Double) ratios.get("cpu_per_task_with_redis"), 2));
    }
    out.flush();
    return new LinkedHashMap<>(ratios);
  }
}
