package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.net.URI;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Human tables and JSON maps of results. */
final class Report {
  private Report() {}

  static String num(double v, int decimals) {
    return Double.isNaN(v) || Double.isInfinite(v)
        ? "-"
        : String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  static String mib(long bytes) {
    return bytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  /** The URL without its token, for reports. */
  static String redact(URI uri) {
    String s = uri.toString();
    return s.replaceAll("token=[^&]*", "token=***");
  }

  /** Where and with what the numbers were taken. */
  static Map<String, Object> environment() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("date", Instant.now().toString());
    m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("client_transport", ClientTransport.name());
    m.put("open_files_limit", ProcStats.openFilesLimit());
    return m;
  }

  static void printRate(PrintWriter out, RateResult r) {
    RateSettings s = r.settings();
    TaskLedger.Counts c = r.counts();
    out.printf("%n== rate: %s (%s)%n", r.target().label(), r.how());
    out.printf("  url               %s%n", r.url());
    out.printf(
        "  load              %d devices, %d constellations, %s tasks/s, device delay %s us%n",
        s.devices(), s.constellations(), num(s.rate(), 0), num(s.deviceDelayNanos() / 1000.0, 0));
    out.printf(
        "  window            %s s warm-up (%d tasks, %d completed) + %s s measured%n",
        num(s.warmupSeconds(), 1),
        c.warmupSent(),
        c.warmupCompleted(),
        num(s.measuredSeconds(), 1));
    out.printf(
        "  tasks             sent %d, completed %d, errors %d"
            + " (failed %d, error frames %d, missing %d, other %d); acks %d%n",
        c.sent(),
        c.completed(),
        c.errors(),
        c.failed(),
        c.errorFrames(),
        c.missing(),
        c.other(),
        c.acks());
    for (String e : c.errorSamples()) {
      out.printf("    e.g. %s%n", e);
    }
    out.printf("  throughput        %s tasks/s%n", num(r.throughput(), 1));
    out.printf("  latency (us)      %8s %8s %8s %8s %8s%n", "p50", "p90", "p99", "p99.9", "max");
    latencyRow(out, "  from schedule    ", r.latency());
    latencyRow(out, "  from send        ", r.latencyFromSend());
    latencyRow(out, "  sender lag       ", r.sendLag());
    out.printf(
        "  client CPU        %s us/task (the load generator's process%s)%n",
        num(r.clientCpuMicrosPerTask(), 1),
        r.how().startsWith("in-process") ? ", server included" : "");
    out.printf("  client threads    %s%n", threads(r.clientThreadCpuMicros()));
    ServerUsage u = r.server();
    if (u.measured()) {
      out.printf(
          "  server CPU        %s ms = %s us/task (%s cores busy; CLK_TCK %d)%n",
          num(u.cpuMicros() / 1000, 0),
          num(u.cpuMicrosPerTask(), 1),
          num(u.cpuUtilization(), 2),
          u.clockTicks());
      out.printf(
          "  server RSS        %s at end, %s max sampled, %s peak (VmHWM)%n",
          mib(u.rssBytes()), mib(u.rssMaxBytes()), mib(u.hwmBytes()));
      out.printf("  server threads    %s%n", threads(u.threadCpuMicros()));
    } else {
      out.printf(
          "  server CPU/RSS    not measured (%s)%n",
          r.how().startsWith("in-process")
              ? "in-process: the server shares this JVM; use --spawn"
              : "no local pid; pass --server-pid");
    }
    out.flush();
  }

  /** The six busiest thread groups, e.g. "multiThreadIoEv 2410 ms, GC Thread 70 ms". */
  static String threads(Map<String, Double> cpuMicros) {
    StringBuilder out = new StringBuilder();
    int shown = 0;
    for (Map.Entry<String, Double> e : cpuMicros.entrySet()) {
      if (shown++ == 6) {
        break;
      }
      out.append(shown == 1 ? "" : ", ")
          .append(e.getKey().trim())
          .append(' ')
          .append(num(e.getValue() / 1000, 0))
          .append(" ms");
    }
    return out.toString();
  }

  private static void latencyRow(PrintWriter out, String label, Latency l) {
    out.printf(
        "%s%8s %8s %8s %8s %8s%n",
        label,
        num(l.p50(), 1),
        num(l.p90(), 1),
        num(l.p99(), 1),
        num(l.p999(), 1),
        num(l.max(), 1));
  }

  static Map<String, Object> latency(Latency l) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", l.count());
    m.put("p50", l.p50());
    m.put("p90", l.p90());
    m.put("p99", l.p99());
    m.put("p99_9", l.p999());
    m.put("max", l.max());
    m.put("mean", l.mean());
    return m;
  }

  static Map<String, Object> rate(RateResult r) {
    RateSettings s = r.settings();
    TaskLedger.Counts c = r.counts();
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("devices", s.devices());
    settings.put("constellations", s.constellations());
    settings.put("rate_per_s", s.rate());
    settings.put("warmup_s", s.warmupSeconds());
    settings.put("measured_s", s.measuredSeconds());
    settings.put("warmup_tasks", s.warmupTasks());
    settings.put("measured_tasks", s.measuredTasks());
    settings.put("device_delay_us", s.deviceDelayNanos() / 1000.0);
    settings.put("client_threads", s.clientThreads());
    Map<String, Object> tasks = new LinkedHashMap<>();
    tasks.put("sent", c.sent());
    tasks.put("completed", c.completed());
    tasks.put("errors", c.errors());
    tasks.put("failed", c.failed());
    tasks.put("error_frames", c.errorFrames());
    tasks.put("missing", c.missing());
    tasks.put("other", c.other());
    tasks.put("acks", c.acks());
    tasks.put("warmup_sent", c.warmupSent());
    tasks.put("warmup_completed", c.warmupCompleted());
    tasks.put("error_samples", c.errorSamples());
    ServerUsage u = r.server();
    Map<String, Object> server = new LinkedHashMap<>();
    server.put("measured", u.measured());
    server.put("cpu_us", u.cpuMicros());
    server.put("cpu_us_per_task", u.cpuMicrosPerTask());
    server.put("cpu_cores_busy", u.cpuUtilization());
    server.put("rss_bytes", u.rssBytes());
    server.put("rss_max_bytes", u.rssMaxBytes());
    server.put("vm_hwm_bytes", u.hwmBytes());
    server.put("clk_tck", u.clockTicks());
    server.put("thread_cpu_us", u.threadCpuMicros());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("target", r.target().label());
    m.put("how", r.how());
    m.put("url", r.url());
    m.put("settings", settings);
    m.put("tasks", tasks);
    m.put("throughput_per_s", r.throughput());
    m.put("latency_us", latency(r.latency()));
    m.put("latency_from_send_us", latency(r.latencyFromSend()));
    m.put("sender_lag_us", latency(r.sendLag()));
    m.put("server", server);
    m.put("client_cpu_us_per_task", r.clientCpuMicrosPerTask());
    m.put("client_thread_cpu_us", r.clientThreadCpuMicros());
    return m;
  }
}
