package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code compare}: the same rate load against the hub and each baseline, one after the other. */
@Command(
    name = "compare",
    header =
        "The rate load against the hub, the floor relay and the Node relay: one table, ratios.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "The same open-loop rate load against the hub, the floor relay and the Node relay, one",
      "after the other, each server spawned in its own process; one table with latency,",
      "throughput, server CPU per task and RSS, and the ratios hub/floor and hub/node.",
      "The Node relay is skipped with a message when node or its dependencies are missing."
    })
final class CompareCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin LoadOptions load = new LoadOptions();

  @Mixin TargetOptions target = new TargetOptions();

  @Option(
      names = "--targets",
      split = ",",
      paramLabel = "LIST",
      description = "Targets in run order (default hub,floor,node).")
  List<String> targets = List.of("hub", "floor", "node");

  @Option(
      names = "--pause",
      converter = DurationConverter.class,
      description = "Pause between targets (default 2s).")
  java.time.Duration pause = java.time.Duration.ofSeconds(2);

  @Option(
      names = "--client-warmup",
      converter = DurationConverter.class,
      description =
          "Before the first target, run the same load this long against an in-process floor"
              + " relay and discard it, so the load generator's own JIT is warm for every target"
              + " alike; 0 skips it (default 10s).")
  java.time.Duration clientWarmup = java.time.Duration.ofSeconds(10);

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
  Path json;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    if (target.url != null || target.inProcess) {
      throw new LoadGenException("compare spawns every server itself: drop --hub / --in-process");
    }
    RateSettings s = load.settings();
    if (!clientWarmup.isZero()) {
      warmClient(s, clientWarmup, out);
    }
    Map<TargetKind, RateResult> results = new LinkedHashMap<>();
    Map<String, String> skipped = new LinkedHashMap<>();
    for (String name : targets) {
      TargetKind kind = TargetKind.parse(name);
      if (kind == TargetKind.NODE) {
        String problem = Targets.nodeProblem(target.nodeRelayDir());
        if (problem != null) {
          out.printf("skipping node: %s%n", problem);
          skipped.put("node", problem);
          continue;
        }
      }
      if (!results.isEmpty()) {
        Thread.sleep(pause.toMillis());
      }
      try (Target t = target.open(kind, TargetOptions.Placement.SPAWN, out)) {
        RateResult r = RateRun.run(t, s, out);
        Report.printRate(out, r);
        results.put(kind, r);
      }
    }
    Map<String, Object> ratios = printTable(out, results);
    if (json != null) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("mode", "compare");
      m.put("environment", Report.environment());
      m.put("node_version", skipped.containsKey("node") ? null : Targets.nodeVersion());
      List<Object> list = new ArrayList<>();
      results.values().forEach(r -> list.add(Report.rate(r)));
      m.put("results", list);
      m.put("skipped", skipped);
      m.put("ratios", ratios);
      JsonOut.write(json, m);
      out.printf("wrote %s%n", json);
    }
    boolean errors = results.values().stream().anyMatch(r -> r.counts().errors() > 0);
    return errors ? LoadGen.EXIT_ERRORS : 0;
  }

  /**
   * Runs the load for {@code clientWarmup} against an in-process floor relay and discards it, so
   * the load generator's own JIT is warm for every measured run alike.
   */
  static void warmClient(RateSettings s, java.time.Duration clientWarmup, PrintWriter out)
      throws InterruptedException {
    long tasks = Math.max(1, Math.round(s.rate() * clientWarmup.toNanos() / 1e9));
    RateSettings warm =
        new RateSettings(
            s.devices(),
            s.constellations(),
            s.rate(),
            0,
            tasks,
            s.deviceDelayNanos(),
            s.drainNanos(),
            s.clientThreads(),
            s.parallel(),
            s.spread());
    try (Target floor = Targets.inProcessFloor()) {
      RateResult r = RateRun.run(floor, warm, new PrintWriter(java.io.Writer.nullWriter()));
      out.printf(
          "client warm-up: %d tasks against an in-process floor relay (%d errors), discarded%n",
          r.counts().completed(), r.counts().errors());
      out.flush();
    }
  }

  private static Map<String, Object> printTable(
      PrintWriter out, Map<TargetKind, RateResult> results) {
    out.printf("%n== compare (latency in us, from the scheduled send time)%n");
    out.printf(
        "%-6s %8s %8s %8s %8s %9s %10s %10s %11s %10s %7s%n",
        "target",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "p50(send)",
        "tasks/s",
        "CPU us/task",
        "RSS MiB",
        "errors");
    for (RateResult r : results.values()) {
      Latency l = r.latency();
      out.printf(
          "%-6s %8s %8s %8s %8s %9s %10s %10s %11s %10s %7d%n",
          r.target().label(),
          Report.num(l.p50(), 1),
          Report.num(l.p90(), 1),
          Report.num(l.p99(), 1),
          Report.num(l.p999(), 1),
          Report.num(l.max(), 1),
          Report.num(r.latencyFromSend().p50(), 1),
          Report.num(r.throughput(), 1),
          Report.num(r.server().cpuMicrosPerTask(), 1),
          r.server().rssBytes() < 0 ? "-" : Report.num(r.server().rssBytes() / 1048576.0, 1),
          r.counts().errors());
    }
    Map<String, Object> ratios = new LinkedHashMap<>();
    RateResult hub = results.get(TargetKind.HUB);
    for (TargetKind base : new TargetKind[] {TargetKind.FLOOR, TargetKind.NODE}) {
      RateResult b = results.get(base);
      if (hub == null || b == null) {
        continue;
      }
      double p50 = hub.latency().p50() / b.latency().p50();
      double p50Send = hub.latencyFromSend().p50() / b.latencyFromSend().p50();
      double p99 = hub.latency().p99() / b.latency().p99();
      double cpu = hub.server().cpuMicrosPerTask() / b.server().cpuMicrosPerTask();
      double rss = (double) hub.server().rssBytes() / b.server().rssBytes();
      out.printf(
          "hub/%-5s p50 %sx (from send %sx), p99 %sx, CPU per task %sx, RSS %sx%n",
          base.label(),
          Report.num(p50, 2),
          Report.num(p50Send, 2),
          Report.num(p99, 2),
          Report.num(cpu, 2),
          Report.num(hub.server().rssBytes() < 0 ? Double.NaN : rss, 2));
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("p50", p50);
      m.put("p50_from_send", p50Send);
      m.put("p99", p99);
      m.put("cpu_per_task", cpu);
      m.put("rss", hub.server().rssBytes() < 0 ? Double.NaN : rss);
      ratios.put("hub/" + base.label(), m);
    }
    out.flush();
    return ratios;
  }
}
