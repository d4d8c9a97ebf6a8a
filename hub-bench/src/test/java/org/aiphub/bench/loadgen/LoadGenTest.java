package org.aiphub.bench.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small real runs over loopback WebSockets: every task is counted once, nothing is lost. No timing
 * is asserted; the machine is shared.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoadGenTest {
  private static final PrintWriter QUIET = new PrintWriter(Writer.nullWriter());

  @Test
  void countsEveryTaskAgainstAnInProcessHub() throws Exception {
    try (Target hub = Targets.inProcessHub()) {
      RateResult r = RateRun.run(hub, RateSettings.small(10, 2, 200, 100), QUIET);

      TaskLedger.Counts c = r.counts();
      assertThat(c.sent()).isEqualTo(100);
      assertThat(c.completed()).isEqualTo(c.sent());
      assertThat(c.errors()).as("errors: %s", c.errorSamples()).isZero();
      assertThat(c.acks()).as("the hub acks every task").isEqualTo(100);
      assertThat(r.latency().count()).isEqualTo(100);
      assertThat(r.latencyFromSend().count()).isEqualTo(100);
      assertThat(r.server().measured()).as("in-process: no separate server readings").isFalse();
    }
  }

  @Test
  void countsEveryTaskAgainstAnInProcessFloorRelay() throws Exception {
    try (Target floor = Targets.inProcessFloor()) {
      RateResult r = RateRun.run(floor, RateSettings.small(10, 1, 200, 100), QUIET);

      TaskLedger.Counts c = r.counts();
      assertThat(c.sent()).isEqualTo(100);
      assertThat(c.completed()).isEqualTo(100);
      assertThat(c.errors()).as("errors: %s", c.errorSamples()).isZero();
      assertThat(c.acks()).as("the floor forwards, it does not ack").isZero();
      assertThat(r.latency().count()).isEqualTo(100);
    }
  }

  @Test
  void commandLineRateRunLeavesTheWarmUpOutAndWritesJson(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("rate.json");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int code =
        LoadGen.execute(
            new String[] {
              "--in-process",
              "--devices",
              "4",
              "--constellations",
              "1",
              "--rate",
              "200",
              "--tasks",
              "20",
              "--warmup",
              "0.1s",
              "--device-delay",
              "1ms",
              "--json",
              json.toString()
            },
            new PrintWriter(out),
            new PrintWriter(err));

    assertThat(code).as("stdout:%n%s%nstderr:%n%s", out, err).isZero();
    assertThat(out.toString()).contains("sent 20, completed 20, errors 0");
    String written = Files.readString(json);
    assertThat(written)
        .contains(
            "\"mode\": \"rate\"",
            "\"completed\": 20",
            "\"errors\": 0",
            "\"warmup_sent\": 20",
            "\"warmup_completed\": 20",
            "\"count\": 20");
    assertThat(written)
        .as("the API key stays out of reports")
        .contains("token=***")
        .doesNotContain("token=loadgen");
  }

  @Test
  void commandLineStormRegistersEveryClient() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int code =
        LoadGen.execute(
            new String[] {
              "storm",
              "--target",
              "floor",
              "--clients",
              "30",
              "--parallel",
              "8",
              "--warmup-clients",
              "0"
            },
            new PrintWriter(out),
            new PrintWriter(err));

    assertThat(code).as("stdout:%n%s%nstderr:%n%s", out, err).isZero();
    assertThat(out.toString()).contains("registered        30 in").contains("failed 0");
  }

  @Test
  void unknownTargetIsAUsageError() {
    StringWriter err = new StringWriter();

    int code =
        LoadGen.execute(
            new String[] {"--target", "nginx", "--tasks", "1"},
            new PrintWriter(new StringWriter()),
            new PrintWriter(err));

    assertThat(code).isEqualTo(LoadGen.EXIT_FAILED);
    assertThat(err.toString()).contains("unknown target 'nginx'");
  }

  @Test
  void clusterModeRunsSameNodeAndCrossNodeInOneRun(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/redis-server"))
            || Files.isExecutable(Path.of("/usr/local/bin/redis-server")),
        "redis-server is not installed");
    Path json = dir.resolve("cluster.json");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int code =
        LoadGen.execute(
            new String[] {
              "cluster",
              "--in-process",
              "--devices",
              "4",
              "--constellations",
              "2",
              "--rate",
              "200",
              "--tasks",
              "40",
              "--warmup",
              "0.1s",
              "--client-warmup",
              "0",
              "--pause",
              "0",
              "--lease",
              "3s",
              "--renew-interval",
              "500ms",
              "--json",
              json.toString()
            },
            new PrintWriter(out),
            new PrintWriter(err));

    String text = out.toString();
    assertThat(code).as("stdout:%n%s%nstderr:%n%s", out, err).isZero();
    assertThat(text)
        .contains("-- same-node: devices on node A, constellations on node A")
        .contains("-- cross-node: devices on node A, constellations on node B")
        .contains("cross/same p50");
    assertThat(text.split("sent 40, completed 40, errors 0", -1)).as(text).hasSize(3);
    String written = Files.readString(json);
    assertThat(written)
        .contains("\"mode\": \"cluster\"", "\"same\": {", "\"cross\": {", "\"node_b\": {")
        .contains("\"cpu_per_task_nodes\"");
  }
}
