package org.aiphub.bench.loadgen;

import java.time.Duration;
import picocli.CommandLine.Option;

/** The load of a {@code rate} run (shared by {@code rate} and {@code compare}). */
final class LoadOptions {
  @Option(names = "--devices", description = "Device clients (default ${DEFAULT-VALUE}).")
  int devices = 100;

  @Option(
      names = "--constellations",
      description = "Constellation clients (default ${DEFAULT-VALUE}).")
  int constellations = 4;

  @Option(
      names = "--rate",
      description = "Total tasks per second over all constellations (default 1000).")
  double rate = 1000;

  @Option(
      names = "--warmup",
      converter = DurationConverter.class,
      description = "Warm-up left out of the results (default 5s).")
  Duration warmup = Duration.ofSeconds(5);

  @Option(
      names = "--duration",
      converter = DurationConverter.class,
      description = "Measured time after the warm-up (default 20s).")
  Duration duration = Duration.ofSeconds(20);

  @Option(
      names = "--tasks",
      description = "Measured tasks; when set it replaces --duration (duration = tasks / rate).")
  long tasks;

  @Option(
      names = "--device-delay",
      converter = DurationConverter.class,
      description = "How long a device works on a task before its task_end (default 0).")
  Duration deviceDelay = Duration.ZERO;

  @Option(
      names = "--drain",
      converter = DurationConverter.class,
      description =
          "How long to wait for outstanding results after the last send; what is still"
              + " missing then counts as errors (default 10s).")
  Duration drain = Duration.ofSeconds(10);

  @Option(
      names = "--client-threads",
      description =
          "Event-loop threads of the load generator's clients (default ${DEFAULT-VALUE}).")
  int clientThreads = 1;

  @Option(
      names = "--parallel",
      description = "Registrations in flight while clients connect (default ${DEFAULT-VALUE}).")
  int parallel = 64;

  @Option(
      names = "--no-spread",
      description = "Do not spread client sockets over source addresses 127.0.0.2-9.")
  boolean noSpread;

  RateSettings settings() {
    long warmupTasks = Math.round(rate * warmup.toNanos() / 1e9);
    long measured = tasks > 0 ? tasks : Math.round(rate * duration.toNanos() / 1e9);
    return new RateSettings(
        devices,
        constellations,
        rate,
        warmupTasks,
        measured,
        deviceDelay.toNanos(),
        drain.toNanos(),
        clientThreads,
        parallel,
        !noSpread);
  }
}
