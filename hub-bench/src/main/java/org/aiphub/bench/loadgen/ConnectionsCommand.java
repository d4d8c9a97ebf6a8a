package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
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

/**
 * {@code connections}: memory per idle registered device. Opens devices in steps; at each step (and
 * before the first) forces a full GC in the server, reads its heap after GC and its RSS, and fits
 * both against the device count: the slopes are the bytes per connection.
 */
@Command(
    name = "connections",
    header = "Memory per idle registered device: heap after GC and RSS slopes over steps of K.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Idle registered devices (each with a ~0.5 KB system_info) in steps. At each step the",
      "server gets a full GC (jcmd PID GC.run); heap after GC (jcmd GC.heap_info) and RSS",
      "(/proc/PID/status) are read; the least-squares slopes against K are the bytes per",
      "connection. The server is spawned unless --hub and --server-pid name a running one."
    })
final class ConnectionsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin TargetOptions target = new TargetOptions();

  @Option(
      names = "--steps",
      split = ",",
      paramLabel = "K1,K2,...",
      description = "Open devices after each step (default ${DEFAULT-VALUE}).")
  List<Integer> steps = List.of(1000, 5000, 10000, 19000);

  @Option(
      names = "--parallel",
      description = "Registrations in flight while opening (default ${DEFAULT-VALUE}).")
  int parallel = 128;

  @Option(
      names = "--settle",
      converter = DurationConverter.class,
      description = "Wait after each step before the GC (default 2s).")
  Duration settle = Duration.ofSeconds(2);

  @Option(
      names = "--client-threads",
      description = "Event-loop threads of the clients (default ${DEFAULT-VALUE}).")
  int clientThreads = 1;

  @Option(
      names = "--no-spread",
      description = "Do not spread client sockets over source addresses 127.0.0.2-9.")
  boolean noSpread;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the result as JSON.")
  Path json;

  /** One measurement. */
  record Point(int devices, long heapAfterGc, long rss, double openSeconds) {}

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    List<Integer> ks = new ArrayList<>(steps);
    ks.sort(null);
    if (ks.isEmpty() || ks.get(0) < 1) {
      throw new LoadGenException("--steps needs positive device counts");
    }
    if (target.inProcess) {
      throw new LoadGenException(
          "connections measures the server's own heap and RSS: it cannot run in-process");
    }
    FdBudget.check(ks.get(ks.size() - 1), false);
    try (Target t = target.open(target.kind(), TargetOptions.Placement.SPAWN, out);
        WsClients ws = new WsClients(t.uri(), clientThreads)) {
      long pid = t.pid() > 0 && ProcStats.available(t.pid()) ? t.pid() : -1;
      if (pid < 0) {
        throw new LoadGenException(
            "connections needs the server's local pid: spawn it, or pass --server-pid");
      }
      SourceAddresses sources = new SourceAddresses(ws.remote(), !noSpread);
      String runId = RateRun.runId();
      List<WsClient> open = new ArrayList<>();
      List<Point> points = new ArrayList<>();
      int failed = 0;
      List<String> failures = new ArrayList<>();
      try {
        points.add(measure(t, pid, 0, 0, out));
        for (int k : ks) {
          List<Registrar.Spec> specs = new ArrayList<>();
          for (int i = open.size() + failed; i < k; i++) {
            String id = runId + "-i" + i;
            specs.add(new Registrar.Spec(id, Frames.registerDevice(id), ClientBehaviour.IDLE));
          }
          Registrar.Outcome o = Registrar.registerAll(ws, sources, specs, parallel);
          open.addAll(o.clients());
          failed += o.failed();
          if (failures.size() < 5) {
            failures.addAll(o.failures());
          }
          Thread.sleep(settle.toMillis());
          points.add(measure(t, pid, open.size(), o.elapsedNanos() / 1e9, out));
          if (o.failed() > 0) {
            out.printf(
                "  %d registrations failed, e.g. %s; stopping here%n", o.failed(), o.failures());
            break;
          }
        }
      } finally {
        Registrar.closeAll(open);
      }
      return report(out, t, sources, points, failed, failures);
    }
  }

  private Point measure(Target t, long pid, int devices, double openSeconds, PrintWriter out) {
    long heap = -1;
    if (t.jvm()) {
      Jcmd.gcRun(pid);
      heap = Jcmd.heapUsed(pid);
    }
    long rss = ProcStats.sample(pid).rssBytes();
    out.printf(
        "  %6d devices: heap after GC %s, RSS %s%n", devices, Report.mib(heap), Report.mib(rss));
    out.flush();
    return new Point(devices, heap, rss, openSeconds);
  }

  private int report(
      PrintWriter out,
      Target t,
      SourceAddresses sources,
      List<Point> points,
      int failed,
      List<String> failures) {
    // The fit leaves out the empty server: the first connections also pay one-time costs (JIT,
    // classes, the allocator's arenas, event-loop threads) that are not per connection.
    List<Point> fitted = new ArrayList<>();
    for (Point p : points) {
      if (p.devices() > 0) {
        fitted.add(p);
      }
    }
    if (fitted.size() < 2) {
      fitted = points;
    }
    int n = fitted.size();
    double[] k = new double[n];
    double[] heap = new double[n];
    double[] rss = new double[n];
    for (int i = 0; i < n; i++) {
      k[i] = fitted.get(i).devices();
      heap[i] = fitted.get(i).heapAfterGc();
      rss[i] = fitted.get(i).rss();
    }
    LinearFit heapFit =
        t.jvm() ? LinearFit.of(k, heap) : new LinearFit(Double.NaN, Double.NaN, Double.NaN);
    LinearFit rssFit = LinearFit.of(k, rss);
    double gib = 1024.0 * 1024 * 1024;
    out.printf(
        "%n== connections: %s (%s), sources %s%n", t.kind().label(), t.how(), sources.describe());
    out.printf("  %8s %14s %14s %14s%n", "devices", "heap after GC", "RSS", "step open s");
    for (Point p : points) {
      out.printf(
          "  %8d %14s %14s %14s%n",
          p.devices(),
          Report.mib(p.heapAfterGc()),
          Report.mib(p.rss()),
          Report.num(p.openSeconds(), 2));
    }
    out.printf("  fit over          %d steps from %d devices%n", n, fitted.get(0).devices());
    out.printf(
        "  heap per device   %s bytes (slope, r2 %s) -> %s devices per GiB of heap%n",
        Report.num(heapFit.slope(), 0),
        Report.num(heapFit.r2(), 3),
        Report.num(gib / heapFit.slope(), 0));
    out.printf(
        "  RSS per device    %s bytes (slope, r2 %s) -> %s devices per GiB of RSS%n",
        Report.num(rssFit.slope(), 0),
        Report.num(rssFit.r2(), 3),
        Report.num(gib / rssFit.slope(), 0));
    if (failed > 0) {
      out.printf("  failed            %d registrations, e.g. %s%n", failed, failures);
    }
    out.flush();
    if (json != null) {
      List<Object> rows = new ArrayList<>();
      for (Point p : points) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("devices", p.devices());
        row.put("heap_after_gc_bytes", p.heapAfterGc());
        row.put("rss_bytes", p.rss());
        row.put("open_s", p.openSeconds());
        rows.add(row);
      }
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("target", t.kind().label());
      r.put("how", t.how());
      r.put("steps", rows);
      r.put("fit_from_devices", fitted.get(0).devices());
      r.put("heap_bytes_per_device", heapFit.slope());
      r.put("heap_fit_r2", heapFit.r2());
      r.put("devices_per_gib_heap", gib / heapFit.slope());
      r.put("rss_bytes_per_device", rssFit.slope());
      r.put("rss_fit_r2", rssFit.r2());
      r.put("devices_per_gib_rss", gib / rssFit.slope());
      r.put("failed", failed);
      r.put("failures", failures);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("mode", "connections");
      m.put("environment", Report.environment());
      m.put("result", r);
      JsonOut.write(json, m);
      out.printf("wrote %s%n", json);
    }
    return failed == 0 ? 0 : LoadGen.EXIT_ERRORS;
  }
}
