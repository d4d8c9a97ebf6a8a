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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

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

  static RateResult run(Target target, RateSettings s, PrintWriter log)
      throws InterruptedException {
    TaskLedger ledger = new TaskLedger(s.warmupTasks(), s.measuredTasks(), s.rate());
    String runId = runId();
    long pid = target.pid() > 0 && ProcStats.available(target.pid()) ? target.pid() : -1;
    try (WsClients clients = new WsClients(target.uri(), s.clientThreads())) {
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
            Registrar.registerAll(clients, sources, constellationSpecs, s.parallel());
        all.addAll(constellations.clients());
        requireAll("constellations", constellations);
        log.printf(
            "%s: %d devices and %d constellations registered; %d tasks at %.0f/s"
                + " (%.1f s warm-up + %.1f s measured)%n",
            target.kind().label(),
            s.devices(),
            s.constellations(),
            s.warmupTasks() + s.measuredTasks(),
            s.rate(),
            s.warmupSeconds(),
            s.measuredSeconds());
        log.flush();
        return drive(target, s, ledger, constellations.clients(), deviceIds, pid);
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

  private static RateResult drive(
      Target target,
      RateSettings s,
      TaskLedger ledger,
      List<WsClient> constellations,
      List<String> deviceIds,
      long pid)
      throws InterruptedException {
    long self = ProcessHandle.current().pid();
    AtomicReference<ProcStats.Sample> selfBefore = new AtomicReference<>();
    AtomicReference<Map<String, Long>> selfThreadsBefore = new AtomicReference<>(Map.of());
    AtomicReference<ProcStats.Sample> before = new AtomicReference<>();
    AtomicReference<Map<String, Long>> threadsBefore = new AtomicReference<>(Map.of());
    AtomicLong rssMax = new AtomicLong(-1);
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
              if (pid > 0) {
                threadsBefore.set(ProcStats.threadGroupTicks(pid));
                before.set(ProcStats.sample(pid));
                sampler.scheduleAtFixedRate(
                    () -> rssMax.accumulateAndGet(ProcStats.sample(pid).rssBytes(), Math::max),
                    0,
                    RSS_SAMPLE_MS,
                    TimeUnit.MILLISECONDS);
              }
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
    ProcStats.Sample after = pid > 0 ? ProcStats.sample(pid) : null;
    Map<String, Long> threadsAfter = pid > 0 ? ProcStats.threadGroupTicks(pid) : Map.of();
    sampler.shutdownNow();
    TaskLedger.Counts counts = ledger.counts();
    long measureStart = ledger.scheduled(ledger.warmup());
    long last = ledger.lastCompletionNanos();
    double seconds = last > measureStart ? (last - measureStart) / 1e9 : Double.NaN;
    double throughput = counts.completed() / seconds;
    ServerUsage usage = ServerUsage.NONE;
    if (after != null && before.get() != null) {
      double cpu = ProcStats.cpuMicros(before.get(), after);
      double wallMicros = (after.atNanos() - before.get().atNanos()) / 1000.0;
      usage =
          new ServerUsage(
              cpu,
              counts.completed() == 0 ? Double.NaN : cpu / counts.completed(),
              cpu / wallMicros,
              after.rssBytes(),
              Math.max(rssMax.get(), after.rssBytes()),
              after.hwmBytes(),
              ProcStats.clockTicks(),
              threadDeltas(threadsBefore.get(), threadsAfter));
    }
    return new RateResult(
        target.kind(),
        target.how(),
        Report.redact(target.uri()),
        s,
        counts,
        throughput,
        Latency.of(ledger.latencyFromSchedule()),
        Latency.of(ledger.latencyFromSend()),
        Latency.of(ledger.sendLag()),
        usage,
        counts.completed() == 0
            ? Double.NaN
            : ProcStats.cpuMicros(selfBefore.get(), selfAfter) / counts.completed(),
        threadDeltas(selfThreadsBefore.get(), selfThreadsAfter));
  }
}
