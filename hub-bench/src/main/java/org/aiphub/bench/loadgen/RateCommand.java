package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rate}: N devices, M constellations, tasks at a fixed total rate, open loop. */
@Command(
    name = "rate",
    header = "Open-loop task round trips at a fixed rate: latency, throughput, server CPU and RSS.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Open-loop task round trips at a fixed total rate: latency from the scheduled send time,",
      "throughput, errors, and the server's CPU per task and RSS (when its process is local).",
      "Without --hub the hub runs in-process; use --spawn for CPU and RSS of the server alone."
    })
final class RateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin LoadOptions load = new LoadOptions();

  @Mixin TargetOptions target = new TargetOptions();

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the result as JSON.")
  Path json;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    RateSettings s = load.settings();
    RateResult r;
    try (Target t = target.open(target.kind(), TargetOptions.Placement.IN_PROCESS, out)) {
      r = RateRun.run(t, s, out);
    }
    Report.printRate(out, r);
    if (json != null) {
      Map<String, Object> m = new java.util.LinkedHashMap<>();
      m.put("mode", "rate");
      m.put("environment", Report.environment());
      m.put("result", Report.rate(r));
      JsonOut.write(json, m);
      out.printf("wrote %s%n", json);
    }
    return r.counts().errors() == 0 ? 0 : LoadGen.EXIT_ERRORS;
  }
}
