package org.aiphub.bench.loadgen;

/**
 * What a {@code rate} run does.
 *
 * @param devices device clients
 * @param constellations constellation clients
 * @param rate total tasks per second over all constellations
 * @param warmupTasks tasks sent first and left out of the results
 * @param measuredTasks tasks measured after the warm-up
 * @param deviceDelayNanos how long a device waits before its task_end
 * @param drainNanos how long to wait for the last results after the last send
 * @param clientThreads event-loop threads of the clients
 * @param parallel registrations in flight while the clients connect
 * @param spread spread client sockets over 127.0.0.2-9
 */
record RateSettings(
    int devices,
    int constellations,
    double rate,
    long warmupTasks,
    long measuredTasks,
    long deviceDelayNanos,
    long drainNanos,
    int clientThreads,
    int parallel,
    boolean spread) {

  RateSettings {
    if (devices < 1 || constellations < 1) {
      throw new IllegalArgumentException("need at least one device and one constellation");
    }
    if (!(rate > 0)) {
      throw new IllegalArgumentException("--rate must be positive");
    }
    if (measuredTasks < 1 || warmupTasks < 0) {
      throw new IllegalArgumentException("need at least one measured task");
    }
    if (clientThreads < 1 || parallel < 1) {
      throw new IllegalArgumentException("--client-threads and --parallel must be at least 1");
    }
  }

  /** A small run: {@code tasks} tasks at {@code rate}, no warm-up, 10 s to drain. */
  static RateSettings small(int devices, int constellations, double rate, long tasks) {
    return new RateSettings(
        devices, constellations, rate, 0, tasks, 0, 10_000_000_000L, 1, 32, true);
  }

  double warmupSeconds() {
    return warmupTasks / rate;
  }

  double measuredSeconds() {
    return measuredTasks / rate;
  }
}
