package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;

/**
 * One open-loop {@code rate} run: register the devices and constellations, send tasks on schedule,
 * wait for the last results, read the server's CPU and memory, close everything.
 */
final class RateRun {
  private static final long RSS_SAMPLE_MS = 250;

  private RateRun() {}

  /** A fresh prefix for client ids, so runs against one long-lived server never collide. */
  static String runId() {
    byte[] b = new byte[3];
    new SecureRandom().nextBytes(b);
    return "lg" + HexFormat.of().formatHex(b);
  }

  /**
   * A run's result, and the usage of every process measured, in the order they were named.
   *
   * @param result the run; its {@code server} is the first process's usage
   * @param servers usage of each process named ({@link ServerUsage#NONE} when it could not be read)
   */
  record Measured(RateResult result, List<ServerUsage> servers) {}

  static RateResult run(Target target, RateSettings s, PrintWriter log)
      throws InterruptedException {
    return run(target, target, List.of(target.pid()), s, log, ids -> {}).result();
  }

  /**
   * A run whose devices register with {@code devicesOn} and constellations with {@code
   * constellationsOn} (two nodes of a cluster, or the same server twice), with the CPU and memory
   * of every process in {@code pids} read over the measured window. {@code beforeLoad} gets every
   * client id once all registered, before the first task is sent (to wait until every node of a
   * cluster knows them, say).
   */
  static Measured run(
      Target devicesOn,
      Target constellationsOn,
      List<Long> pids,
      RateSettings s,
      PrintWriter log,
      Consumer<List<String>> beforeLoad)
      throws InterruptedException {
    TaskLedger ledger = new TaskLedger(s.warmupTasks(), s.measuredTasks(), s.rate());
    String runId = runId();
    List<Long> readable = new ArrayList<>();
    for (long pid : pids) {
      readable.add(pid > 0 && ProcStats.available(pid) ? pid : -1L);
    }
    try (WsClients clients = new WsClients(devicesOn.uri(), s.clientThreads());
        WsClients forConstellations = clients.to(constellationsOn.uri())) {
      SourceAddresses sources = new SourceAddresses(clients.remote(), s.spread());
      List<Registrar.Spec> deviceSpecs = new ArrayList<>();
      List<String> deviceIds = new ArrayList<>();
      SimDevice device = new SimDevice(ledger, s.deviceDelayNanos());
      for (int k = 0; k < s.devices(); k++) {
        String id = runId + "-d" + k;
        deviceIds.add(id);
        deviceSpecs.add(new Registrar.Spec(id, Frames.registerDevice(id), device));
      }
      List<Registrar.Spec> constellationSpecs = new ArrayList<>();
      SimConstellation constellation = new SimConstellation(ledger);
      for (int k = 0; k < s.constellations(); k++) {
        String id = runId + "-c" + k;
        constellationSpecs.add(
            new Registrar.Spec(id, Frames.registerConstellation(id), constellation));
      }
      List<WsClient> all = new ArrayList<>();
      try {
        Registrar.Outcome devices =
            Registrar.registerAll(clients, sources, deviceSpecs, s.parallel());
        all.addAll(devices.clients());
        requireAll("devices", devices);
        Registrar.Outcome constellations =
            Registrar.registerAll(forConstellations, sources, constellationSpecs, s.parallel());
        all.addAll(constellations.clients());
        requireAll("constellations", constellations);
        List<String> everyone = new ArrayList<>(deviceIds);
        constellationSpecs.forEach(c -> everyone.add(c.id()));
        beforeLoad.accept(everyone);
        log.printf(
            "%s: %d devices and %d constellations registered; %d tasks at %.0f/s"
                + " (%.1f s warm-up + %.1f s measured)%n",
            devicesOn.kind().label(),
            s.devices(),
            s.constellations(),
            s.warmupTasks() + s.measuredTasks(),
            s.rate(),
            s.warmupSeconds(),
            s.measuredSeconds());
        log.flush();
        return drive(
            devicesOn, constellationsOn, s, ledger, constellations.clients(), deviceIds, readable);
      } finally {
        ledger.closing();
        Registrar.closeAll(all);
      }
    }
  }

  /** CPU microseconds per thread group between two readings, largest first, zeros left out. */
  static Map<String, Double> threadDeltas(Map<String, Long> before, Map<String, Long> after) {
    List<Map.Entry<String, Long>> deltas = new ArrayList<>();
    after.forEach(
        (group, ticks) -> {
          long d = ticks - before.getOrDefault(group, 0L);
          if (d > 0) {
            deltas.add(Map.entry(group, d));
          }
        });
    deltas.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : deltas) {
      out.put(e.getKey(), e.getValue() * 1e6 / ProcStats.clockTicks());
    }
    return out;
  }

  private static void requireAll(String what, Registrar.Outcome o) {
    if (o.failed() > 0) {
      throw new LoadGenException(
          o.failed()
              + " "
              + what
              + " could not register, e.g.: "
              + String.join("; ", o.failures()));
    }
  }

  private static Measured drive(
      Target devicesOn,
      Target constellationsOn,
      RateSettings s,
      TaskLedger ledger,
      List<WsClient> constellations,
      List<String> deviceIds,
      List<Long> pids)
      throws InterruptedException {
    long self = ProcessHandle.current().pid();
    int n = pids.size();
    AtomicReference<ProcStats.Sample> selfBefore = new AtomicReference<>();
    AtomicReference<Map<String, Long>> selfThreadsBefore = new AtomicReference<>(Map.of());
    AtomicReferenceArray<ProcStats.Sample> before = new AtomicReferenceArray<>(n);
    AtomicReferenceArray<Map<String, Long>> threadsBefore = new AtomicReferenceArray<>(n);
    AtomicLongArray rssMax = new AtomicLongArray(n);
    ScheduledExecutorService sampler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "loadgen-rss");
              t.setDaemon(true);
              return t;
            });
    Pacer pacer =
        new Pacer(
            ledger,
            constellations,
            deviceIds,
            () -> {
              selfThreadsBefore.set(ProcStats.threadGroupTicks(self));
              selfBefore.set(ProcStats.sample(self));
              for (int i = 0; i < n; i++) {
                long pid = pids.get(i);
                rssMax.set(i, -1);
                if (pid > 0) {
                  threadsBefore.set(i, ProcStats.threadGroupTicks(pid));
                  before.set(i, ProcStats.sample(pid));
                }
              }
              sampler.scheduleAtFixedRate(
                  () -> {
                    for (int i = 0; i < n; i++) {
                      long pid = pids.get(i);
                      if (pid > 0) {
                        long rss = ProcStats.sample(pid).rssBytes();
                        rssMax.accumulateAndGet(i, rss, Math::max);
                      }
                    }
                  },
                  0,
                  RSS_SAMPLE_MS,
                  TimeUnit.MILLISECONDS);
            });
    pacer.start();
    try {
      pacer.await();
    } catch (InterruptedException e) {
      pacer.stop();
      sampler.shutdownNow();
      throw e;
    }
    long drainUntil = System.nanoTime() + s.drainNanos();
    while (ledger.outstanding() > 0 && System.nanoTime() < drainUntil) {
      Thread.sleep(5);
    }
    ProcStats.Sample selfAfter = ProcStats.sample(self);
    Map<String, Long> selfThreadsAfter = ProcStats.threadGroupTicks(self);
    List<ProcStats.Sample> after = new ArrayList<>();
    List<Map<String, Long>> threadsAfter = new ArrayList<>();
    for (long pid : pids) {
      after.add(pid > 0 ? ProcStats.sample(pid) : null);
      threadsAfter.add(pid > 0 ? ProcStats.threadGroupTicks(pid) : Map.of());
    }
    sampler.shutdownNow();
    TaskLedger.Counts counts = ledger.counts();
    long measureStart = ledger.scheduled(ledger.warmup());
    long last = ledger.lastCompletionNanos();
    double seconds = last > measureStart ? (last - measureStart) / 1e9 : Double.NaN;
    double throughput = counts.completed() / seconds;
    List<ServerUsage> usages = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ProcStats.Sample b = before.get(i);
      ProcStats.Sample a = after.get(i);
      if (a == null || b == null) {
        usages.add(ServerUsage.NONE);
        continue;
      }
      double cpu = ProcStats.cpuMicros(b, a);
      double wallMicros = (a.atNanos() - b.atNanos()) / 1000.0;
      usages.add(
          new ServerUsage(
              cpu,
              counts.completed() == 0 ? Double.NaN : cpu / counts.completed(),
              cpu / wallMicros,
              a.rssBytes(),
              Math.max(rssMax.get(i), a.rssBytes()),
              a.hwmBytes(),
              ProcStats.clockTicks(),
              threadDeltas(threadsBefore.get(i), threadsAfter.get(i))));
    }
    boolean split = devicesOn != constellationsOn;
    RateResult result =
        new RateResult(
            devicesOn.kind(),
            split
                ? "devices: " + devicesOn.how() + "; constellations: " + constellationsOn.how()
                : devicesOn.how(),
            split
                ? Report.redact(devicesOn.uri())
                    + " (devices), "
                    + Report.redact(constellationsOn.uri())
                    + " (constellations)"
                : Report.redact(devicesOn.uri()),
            s,
            counts,
            throughput,
            Latency.of(ledger.latencyFromSchedule()),
            Latency.of(ledger.latencyFromSend()),
            Latency.of(ledger.sendLag()),
            usages.isEmpty() ? ServerUsage.NONE : usages.get(0),
            counts.completed() == 0
                ? Double.NaN
                : ProcStats.cpuMicros(selfBefore.get(), selfAfter) / counts.completed(),
            threadDeltas(selfThreadsBefore.get(), selfThreadsAfter));
    return new Measured(result, usages);
  }
}
