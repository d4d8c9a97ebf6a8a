package org.aiphub.bench.loadgen;

import java.util.Map;

/**
 * What the server process used during the measured window: CPU from {@code /proc/PID/stat}, memory
 * from {@code /proc/PID/status}. Fields are NaN or -1 when the server's process could not be read
 * (in-process or remote servers).
 *
 * @param cpuMicros CPU time (user + system, all threads) over the measured window
 * @param cpuMicrosPerTask {@code cpuMicros} / completed measured tasks
 * @param cpuUtilization {@code cpuMicros} / wall time of the window (1.0 = one core busy)
 * @param rssBytes VmRSS at the end of the run
 * @param rssMaxBytes the largest VmRSS sampled (every 250 ms) during the window
 * @param hwmBytes VmHWM (peak RSS over the process's life) at the end
 * @param clockTicks CLK_TCK used to convert ticks
 * @param threadCpuMicros CPU over the window per group of like-named threads, largest first
 */
record ServerUsage(
    double cpuMicros,
    double cpuMicrosPerTask,
    double cpuUtilization,
    long rssBytes,
    long rssMaxBytes,
    long hwmBytes,
    long clockTicks,
    Map<String, Double> threadCpuMicros) {
  static final ServerUsage NONE =
      new ServerUsage(Double.NaN, Double.NaN, Double.NaN, -1, -1, -1, 0, Map.of());

  boolean measured() {
    return rssBytes >= 0;
  }
}
