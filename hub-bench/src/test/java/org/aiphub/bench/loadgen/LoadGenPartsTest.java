package org.aiphub.bench.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The load generator's parsing and bookkeeping, without sockets. */
class LoadGenPartsTest {
  @Test
  void sessionIdsCarryOwnerAndSequence() {
    String id = Frames.sessionId("lgabc123-c1", 4711);

    assertThat(id).isEqualTo("lgabc123-c1~4711");
    assertThat(Frames.owner(id)).isEqualTo("lgabc123-c1");
    assertThat(Frames.seq(id)).isEqualTo(4711);
    assertThat(Frames.seq("foreign-session")).isEqualTo(-1);
    assertThat(Frames.seq("x~12a")).isEqualTo(-1);
    assertThat(Frames.seq(null)).isEqualTo(-1);
    assertThat(Frames.owner("~5")).isNull();
  }

  @Test
  void deviceRegistrationCarriesHalfAKilobyteOfSystemInfo() {
    String json = new org.aiphub.core.aip.AipCodec().encodeToString(Frames.registerDevice("d-1"));
    int start = json.indexOf("\"system_info\":");
    int end = json.indexOf(",\"registration_time\"");

    assertThat(end - start).isBetween(450, 650);
  }

  @Test
  void taskEndNamesTheOwnerAsTarget() {
    var m = Frames.taskEnd("dev-7", "lgx-c0~3");

    assertThat(m.targetId()).isEqualTo("lgx-c0");
    assertThat(m.sessionId()).isEqualTo("lgx-c0~3");
    assertThat(m.clientId()).isEqualTo("dev-7");
  }

  @Test
  void ledgerCountsEachTaskOnce() {
    TaskLedger ledger = new TaskLedger(2, 4, 1000);
    ledger.start(0);
    for (int i = 0; i < 6; i++) {
      ledger.sent(i, ledger.scheduled(i) + 10);
    }

    ledger.taskEnd(0, true, null, 500_000); // warm-up
    ledger.taskEnd(2, true, null, 2_500_000);
    ledger.taskEnd(2, true, null, 2_600_000); // duplicate
    ledger.taskEnd(3, false, "boom", 3_500_000);
    ledger.errorFrame("lg-c0~4", "target offline");
    ledger.taskEnd(-1, true, null, 1); // not ours

    TaskLedger.Counts c = ledger.counts();
    assertThat(c.sent()).isEqualTo(4);
    assertThat(c.warmupSent()).isEqualTo(2);
    assertThat(c.completed()).isEqualTo(1);
    assertThat(c.warmupCompleted()).isEqualTo(1);
    assertThat(c.failed()).isEqualTo(1);
    assertThat(c.errorFrames()).isEqualTo(1);
    assertThat(c.missing()).as("tasks 1 and 5").isEqualTo(2);
    assertThat(c.other()).as("a duplicate and an unknown session").isEqualTo(2);
    assertThat(c.errors()).isEqualTo(6);
    var latency = ledger.latencyFromSchedule();
    assertThat(latency.getTotalCount()).isEqualTo(1);
    assertThat(latency.getMaxValue()).as("from the scheduled time").isBetween(499_000L, 501_000L);
  }

  @Test
  void scheduleIsOpenLoop() {
    TaskLedger ledger = new TaskLedger(0, 10, 4000);
    ledger.start(1_000_000_000L);

    assertThat(ledger.scheduled(0)).isEqualTo(1_000_000_000L);
    assertThat(ledger.scheduled(9)).isEqualTo(1_000_000_000L + 9 * 250_000L);
  }

  @Test
  void parsesHeapInfoOfEachCollector() {
    String g1 =
        "12345:\n"
            + " garbage-first heap   total 262144K, used 21387K [0x0000000700000000,"
            + " 0x0000000800000000)\n"
            + "  region size 1024K, 8 young (8192K), 0 survivors (0K)\n"
            + " Metaspace       used 9718K, committed 9920K, reserved 1114112K\n"
            + "  class space    used 1048K, committed 1152K, reserved 1048576K\n";
    String parallel =
        " PSYoungGen      total 76288K, used 2621K [0x1, 0x2, 0x3)\n"
            + "  eden space 65536K, 4% used [0x1,0x2,0x3)\n"
            + "  from space 10752K, 0% used [0x1,0x2,0x3)\n"
            + " ParOldGen       total 175104K, used 8K [0x1, 0x2, 0x3)\n"
            + "  object space 175104K, 0% used [0x1,0x2,0x3)\n"
            + " Metaspace       used 6000K, committed 6144K, reserved 1056768K\n";
    String serial =
        " def new generation   total 9792K, used 1212K [0x1, 0x2, 0x3)\n"
            + "  eden space 8704K,  13% used [0x1, 0x2, 0x3)\n"
            + " tenured generation   total 21888K, used 100K [0x1, 0x2, 0x3)\n"
            + "   the space 21888K,   0% used [0x1, 0x2, 0x3, 0x4)\n";
    String z = " ZHeap           used 12M, capacity 64M, max capacity 6144M\n";

    assertThat(Jcmd.parseHeapUsed(g1)).isEqualTo(21387L * 1024);
    assertThat(Jcmd.parseHeapUsed(parallel)).isEqualTo((2621L + 8) * 1024);
    assertThat(Jcmd.parseHeapUsed(serial)).isEqualTo((1212L + 100) * 1024);
    assertThat(Jcmd.parseHeapUsed(z)).isEqualTo(12L * 1024 * 1024);
    assertThatThrownBy(() -> Jcmd.parseHeapUsed("nothing")).isInstanceOf(LoadGenException.class);
  }

  @Test
  void parsesProcFiles() {
    String stat =
        "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 30 0 100"
            + " 9000000 5000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    String status = "Name:\tjava\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t30\n";

    assertThat(ProcStats.cpuTicks(stat)).isEqualTo(175);
    assertThat(ProcStats.statusKiB(status, "VmRSS")).isEqualTo(102400);
    assertThat(ProcStats.statusKiB(status, "VmHWM")).isEqualTo(204800);
    assertThat(ProcStats.statusKiB(status, "VmSwap")).isEqualTo(-1);
  }

  @Test
  void readsThisProcess() {
    long self = ProcessHandle.current().pid();

    ProcStats.Sample s = ProcStats.sample(self);

    assertThat(s.rssBytes()).isPositive();
    assertThat(s.cpuTicks()).isPositive();
    assertThat(ProcStats.clockTicks()).isPositive();
    assertThat(ProcStats.threadGroupTicks(self)).isNotEmpty();
  }

  @Test
  void fitsALine() {
    LinearFit f =
        LinearFit.of(
            new double[] {1000, 5000, 10000}, new double[] {3e6 + 4e6, 3e6 + 20e6, 3e6 + 40e6});

    assertThat(f.slope()).isCloseTo(4000, within(1e-6));
    assertThat(f.intercept()).isCloseTo(3e6, within(1e-3));
    assertThat(f.r2()).isCloseTo(1, within(1e-9));
    assertThat(LinearFit.of(new double[] {1}, new double[] {1}).slope()).isNaN();
  }

  @Test
  void readsDurations() {
    assertThat(DurationConverter.parse("500us")).isEqualTo(Duration.ofNanos(500_000));
    assertThat(DurationConverter.parse("2ms")).isEqualTo(Duration.ofMillis(2));
    assertThat(DurationConverter.parse("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(DurationConverter.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(DurationConverter.parse("10")).isEqualTo(Duration.ofSeconds(10));
    assertThatThrownBy(() -> DurationConverter.parse("soon"))
        .hasMessageContaining("not a duration");
  }

  @Test
  void writesJson() {
    String json =
        JsonOut.toJson(
            Map.of("a", List.of(1, 2.5, Double.NaN, "q\"\n"), "b", Map.of(), "c", List.of()));

    assertThat(json)
        .contains("\"a\": [", "2.500", "null", "\"q\\\"\\n\"", "\"b\": {}", "\"c\": []");
  }

  @Test
  void hidesTheToken() {
    assertThat(Report.redact(java.net.URI.create("ws://h:1/ws?token=secret&x=1")))
        .isEqualTo("ws://h:1/ws?token=***&x=1");
  }
}
