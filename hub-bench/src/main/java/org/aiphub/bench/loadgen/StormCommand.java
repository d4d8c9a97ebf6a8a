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

/** {@code storm}: K devices connect and register as fast as bounded concurrency allows. */
@Command(
    name = "storm",
    header = "Registration storm: registrations per second and time to the registration reply.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Registration storm: K devices (each with a ~0.5 KB system_info) connect and register as",
      "fast as possible with at most --parallel in flight; reports registrations per second and",
      "the time from connect start to the registration reply (p50, p99), and the server's CPU."
    })
final class StormCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin TargetOptions target = new TargetOptions();

  @Option(names = "--clients", description = "Devices to register (default ${DEFAULT-VALUE}).")
  int clients = 5000;

  @Option(
      names = "--warmup-clients",
      description =
          "Devices registered and closed first, unmeasured, so a JVM server's JIT is warm"
              + " (default ${DEFAULT-VALUE}).")
  int warmupClients = 1000;

  @Option(
      names = "--parallel",
      description = "Registrations in flight at once (default ${DEFAULT-VALUE}).")
  int parallel = 256;

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

  private static List<Registrar.Spec> devices(String prefix, int count) {
    List<Registrar.Spec> specs = new ArrayList<>(count);
    for (int k = 0; k < count; k++) {
      String id = prefix + k;
      specs.add(new Registrar.Spec(id, Frames.registerDevice(id), ClientBehaviour.IDLE));
    }
    return specs;
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    if (clients < 1 || parallel < 1 || clientThreads < 1) {
      throw new LoadGenException("--clients, --parallel and --client-threads must be at least 1");
    }
    boolean inProcess =
        target.url == null
            && target.kind() != TargetKind.NODE
            && (target.inProcess || !target.spawn);
    FdBudget.check(Math.max(clients, warmupClients), inProcess);
    try (Target t = target.open(target.kind(), TargetOptions.Placement.IN_PROCESS, out);
        WsClients ws = new WsClients(t.uri(), clientThreads)) {
      String runId = RateRun.runId();
      SourceAddresses sources = new SourceAddresses(ws.remote(), !noSpread);
      if (warmupClients > 0) {
        Registrar.Outcome w =
            Registrar.registerAll(ws, sources, devices(runId + "-w", warmupClients), parallel);
        Registrar.closeAll(w.clients());
        out.printf(
            "warm-up: %d devices registered (%d failed) and closed%n",
            w.clients().size(), w.failed());
        Thread.sleep(1000);
      }
      List<Registrar.Spec> specs = devices(runId + "-s", clients);
      long pid = t.pid() > 0 && ProcStats.available(t.pid()) ? t.pid() : -1;
      Map<String, Long> threadsBefore = pid > 0 ? ProcStats.threadGroupTicks(pid) : Map.of();
      ProcStats.Sample before = pid > 0 ? ProcStats.sample(pid) : null;
      Registrar.Outcome o = Registrar.registerAll(ws, sources, specs, parallel);
      ProcStats.Sample after = pid > 0 ? ProcStats.sample(pid) : null;
      Map<String, Long> threadsAfter = pid > 0 ? ProcStats.threadGroupTicks(pid) : Map.of();
      try {
        Latency time = Latency.of(o.times());
        out.printf("%n== storm: %s (%s)%n", t.kind().label(), t.how());
        out.printf(
            "  clients           %d, %d in flight at most, sources %s%n",
            clients, parallel, sources.describe());
        out.printf(
            "  registered        %d in %s s = %s registrations/s; failed %d%n",
            o.clients().size(),
            Report.num(o.elapsedNanos() / 1e9, 2),
            Report.num(o.perSecond(), 0),
            o.failed());
        for (String f : o.failures()) {
          out.printf("    e.g. %s%n", f);
        }
        out.printf(
            "  connect->reply us p50 %s, p90 %s, p99 %s, p99.9 %s, max %s%n",
            Report.num(time.p50(), 0),
            Report.num(time.p90(), 0),
            Report.num(time.p99(), 0),
            Report.num(time.p999(), 0),
            Report.num(time.max(), 0));
        double cpuPerReg = Double.NaN;
        if (after != null) {
          double cpu = ProcStats.cpuMicros(before, after);
          cpuPerReg = o.clients().isEmpty() ? Double.NaN : cpu / o.clients().size();
          out.printf(
              "  server            CPU %s ms = %s us/registration; RSS %s%n",
              Report.num(cpu / 1000, 0), Report.num(cpuPerReg, 1), Report.mib(after.rssBytes()));
          out.printf(
              "  server threads    %s%n",
              Report.threads(RateRun.threadDeltas(threadsBefore, threadsAfter)));
        }
        out.flush();
        if (json != null) {
          Map<String, Object> r = new LinkedHashMap<>();
          r.put("target", t.kind().label());
          r.put("how", t.how());
          r.put("clients", clients);
          r.put("warmup_clients", warmupClients);
          r.put("parallel", parallel);
          r.put("registered", o.clients().size());
          r.put("failed", o.failed());
          r.put("failures", o.failures());
          r.put("elapsed_s", o.elapsedNanos() / 1e9);
          r.put("registrations_per_s", o.perSecond());
          r.put("connect_to_reply_us", Report.latency(time));
          r.put("server_cpu_us_per_registration", cpuPerReg);
          r.put("server_rss_bytes", after == null ? -1 : after.rssBytes());
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("mode", "storm");
          m.put("environment", Report.environment());
          m.put("result", r);
          JsonOut.write(json, m);
          out.printf("wrote %s%n", json);
        }
        return o.failed() == 0 ? 0 : LoadGen.EXIT_ERRORS;
      } finally {
        Registrar.closeAll(o.clients());
      }
    }
  }
}
