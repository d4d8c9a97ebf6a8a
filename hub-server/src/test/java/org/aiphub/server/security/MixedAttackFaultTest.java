package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ListenerNotFoundException;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.json.Collisions;
import org.aiphub.server.e2e.HubProcess;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, "Also": the fault-injection test. The hub runs as an operator runs it, in a process of
 * its own at {@code -Xmx128m} with the launcher's {@code -XX:+ExitOnOutOfMemoryError} and its
 * default limits, while every memory finding of the issue is attacked, the attacks overlapping:
 *
 * <ol>
 *   <li>registrations of 145,000 features and of multi-megabyte metadata, and device info responses
 *       as big (finding 1);
 *   <li>heartbeats whose metadata holds 20,000 keys of one {@code String.hashCode} (under the token
 *       budget, so they are parsed whole), and {@code /api/dispatch} bodies of colliding keys
 *       (finding 2);
 *   <li>sessions with 1 MiB requests and 1 MiB results (strings, and objects of 20,000 fields), a
 *       few in flight at once, their owners leaving with big sessions running, and HTTP dispatches
 *       of 900 KB requests answered with 1 MiB results (finding 3);
 *   <li>HTTP clients that pipeline {@code GET /api/sessions?limit=1000}, {@code /api/sessions/{id}}
 *       and {@code /metrics} and never read, and dashboard feed viewers that never read (finding
 *       4);
 *   <li>another client's flood of tiny sessions while owners are offline with held outcomes
 *       (finding 8).
 * </ol>
 *
 * <p>Meanwhile 100 well-behaved devices, each with its constellation, do round trips (heartbeats
 * from both, a task from the constellation, its {@code task_end} from the device) on a few driver
 * threads, and every tenth constellation leaves with tasks running and comes back after the flood.
 * They must lose nothing (every task they start ends with its own result; every held outcome is
 * handed over when its owner is back), every heartbeat round trip stays under a second, {@code
 * /healthz} answers throughout, the process is alive at the end and exits 0 on SIGTERM. Each attack
 * is bounded in count and bytes, and paced (see {@link #ATTACK_PAUSE}). A failure prints the hub's
 * log tail, the count of each attack and the round-trip distribution; a pass prints the figures
 * too.
 */
class MixedAttackFaultTest {
  private static final String KEY = "mixed-attack-key-0123456789";

  /** Well-behaved devices, each with its own constellation. */
  private static final int PAIRS = 100;

  /** Threads that drive the well-behaved clients, a quarter of them each. */
  private static final int DRIVERS = 4;

  /** Rounds every driver completes at least, however fast the attacks are over. */
  private static final int MIN_ROUNDS = 5;

  /** Every tenth pair's constellation leaves with tasks running and comes back. */
  private static final int AWAY_EVERY = 10;

  private static final int AWAY_TASKS = 3;

  /** The round in which the away constellations leave (the attacks have started by then). */
  private static final int AWAY_ROUND = 2;

  /**
   * What each driver waits between rounds: real devices heartbeat every few seconds, not back to
   * back, and a fleet that never rests would be a CPU attack of its own on two cores.
   */
  private static final Duration ROUND_PAUSE = Duration.ofMillis(250);

  /** The bound on every well-behaved heartbeat round trip. */
  private static final Duration RTT_BOUND = Duration.ofSeconds(1);

  /**
   * What each attacker waits after each of its big frames or requests. Back to back, the attackers
   * together keep both cores of a small machine busy (the test JVM builds, sends and receives the
   * megabytes too), and every latency is then the scheduler's, not the hub's; paced, the attacks
   * still overlap, so the memory they make the hub spend is spent at once.
   */
  private static final Duration ATTACK_PAUSE = Duration.ofMillis(300);

  /** How long the attacks together may take before the test gives up. */
  private static final Duration ATTACK_TIMEOUT = Duration.ofSeconds(30);

  // Attack volumes.
  private static final int FEATURE_REGISTRATIONS = 2;
  private static final int FEATURES = 145_000;
  private static final int METADATA_REGISTRATIONS = 2;
  private static final int INFO_RESPONSES = 2;
  private static final int BLOB_CHARS = 3_500_000;

  /**
   * Colliding keys in a heartbeat's metadata, under the token budget, so the hub parses them whole.
   * Every client on the attacker's event loop waits for that parse, and a loaded two-core machine
   * stretches it several times: 40,000 keys (some 0.2 s of a core) kept fleet heartbeats waiting up
   * to 0.9 s at a load average of 12. Showing that the parse is O(n log n) whatever the keys takes
   * more of them, and is HashCollisionAttackTest's, as is a frame over the budget (refused, it
   * still costs the whole budget's parse); here they are one more kind of frame among the rest.
   */
  private static final int COLLIDING_KEYS = 20_000;

  private static final int COLLIDING_HEARTBEATS = 2;
  private static final int COLLIDING_DISPATCHES = 2;
  private static final int BIG_PAIRS = 2;
  private static final int BIG_BATCHES = 4;
  private static final int BIG_IN_FLIGHT = 3;
  private static final int BIG_LEFT_RUNNING = 3;
  private static final int BIG_CHARS = 1 << 20;

  /**
   * Fields of an object result (1.1 MB as JSON). Kept whole, an object costs several times its JSON
   * in heap, the shape that matters most to the session budgets; each field costs parse time on an
   * event loop (some 0.1 s of a core for 40,000), so these have fewer fields and longer values.
   */
  private static final int OBJECT_FIELDS = 20_000;

  private static final int HTTP_DISPATCHES = 8;
  private static final int HTTP_REQUEST_CHARS = 900_000;
  private static final int PIPELINERS = 6;
  private static final int PIPELINED = 24;
  private static final int FEED_VIEWERS = 2;
  private static final int FLOOD_SESSIONS = 2_000;
  private static final int FLOOD_BATCH = 100;

  @TempDir Path dir;

  private Payloads payloads;
  private long[] cpuAtAttack = {0, 0};

  private static final String HUB_GC_LOG = "hub-gc.log";

  // ---------------------------------------------------------------------------------- the stage

  private int port;
  private HubProcess hub;
  private HubHttp http;

  /**
   * The well-behaved clients' WebSocket transport: a small pool of threads for 200 connections; the
   * attackers have their own, so that the megabytes they receive do not delay the fleet's frames
   * inside this JVM.
   */
  private HttpClient fleetHttp;

  private HttpClient attackHttp;

  private final Timeline timeline = new Timeline();
  private final Tally tally = new Tally();
  private final Samples fleetRtt = new Samples();
  private final Samples healthzLatency = new Samples();
  private final List<String> failures = new CopyOnWriteArrayList<>();
  private final long gcAtStart = testGcMillis();
  private final AtomicBoolean attacksOver = new AtomicBoolean();
  private final AtomicBoolean stopAll = new AtomicBoolean();
  private final CountDownLatch fleetWarm = new CountDownLatch(DRIVERS);
  private final CountDownLatch awayLeft = new CountDownLatch(PAIRS / AWAY_EVERY);
  private final CountDownLatch floodDone = new CountDownLatch(1);
  private final CountDownLatch bigSessionsExist = new CountDownLatch(1);

  @Test
  void aHubUnderAMixedAttackKeepsEveryInnocentRoundTrip() throws Exception {
    long t0 = System.nanoTime();
    ExecutorService drivers = Executors.newFixedThreadPool(DRIVERS, daemon("fleet"));
    ExecutorService attackers = Executors.newCachedThreadPool(daemon("attack"));
    ExecutorService fleetPool = Executors.newFixedThreadPool(2, daemon("fleet-ws"));
    ExecutorService attackPool = Executors.newFixedThreadPool(2, daemon("attack-ws"));
    fleetHttp = HttpClient.newBuilder().executor(fleetPool).build();
    attackHttp = HttpClient.newBuilder().executor(attackPool).build();
    Canary canary = null;
    Thread healthz = null;
    String report = "(no report: the hub did not start)";
    boolean passed = false;
    payloads = new Payloads();
    System.gc(); // the payloads to the old generation, once
    AutoCloseable testGc = watchTestGc();
    try {
      // HubProcess stops the JIT at C1. A hub just started would otherwise compile its JSON paths
      // with C2 during the attack, seconds of CPU that on two cores the fleet waits for, where a
      // hub that has served for a while compiled them long ago; C1 compiles in milliseconds and
      // runs the same code slower, the harder case for the round trips.
      hub =
          HubProcess.start(
              dir,
              Map.of(),
              List.of(
                  "-Xmx128m",
                  "-XX:+ExitOnOutOfMemoryError",
                  "-Xlog:gc:file=" + dir.resolve(HUB_GC_LOG) + ":time"),
              "--port",
              "0",
              "--api-key",
              KEY);
      port = hub.awaitListening();
      http = new HubHttp(port, KEY);

      // The well-behaved fleet registers and starts its rounds; a canary and a /healthz prober
      // start too; once every driver has done a round, the attacks start.
      List<Future<?>> fleet = new ArrayList<>();
      for (int d = 0; d < DRIVERS; d++) {
        List<Pair> group = new ArrayList<>();
        for (int n = d; n < PAIRS; n += DRIVERS) {
          group.add(new Pair(n));
        }
        fleet.add(drivers.submit(() -> drive(group)));
      }
      WsClient canaryClient = connect(fleetHttp);
      canaryClient.send(ClientFrames.registerDevice("canary-dev"));
      Clients.assertRegistered(canaryClient.next());
      canary = Canary.start(canaryClient, "canary-dev");
      healthz = new Thread(this::probeHealthz, "healthz-prober");
      healthz.setDaemon(true);
      healthz.start();
      assertThat(fleetWarm.await(60, TimeUnit.SECONDS))
          .as("the fleet's first round; failures: %s", failures)
          .isTrue();

      long attacksStart = System.nanoTime();
      cpuAtAttack = new long[] {hubCpuMillis(), testCpuMillis()};
      timeline.mark("attacks start");
      // Each attack starts a pause after the one before, as attackers do who did not agree on an
      // instant; each lasts seconds, so they all overlap.
      Map<String, ThrowingRunnable> plan = new LinkedHashMap<>();
      plan.put("registry", this::registryAttack);
      plan.put("collisions", this::collisionAttack);
      for (int i = 0; i < BIG_PAIRS; i++) {
        int k = i;
        plan.put("big-sessions-" + k, () -> bigSessions(k));
      }
      plan.put("http-dispatch", this::httpDispatchAttack);
      plan.put("non-readers", this::nonReaders);
      plan.put("flood", this::flood);
      List<Future<?>> attacks = new ArrayList<>();
      for (Map.Entry<String, ThrowingRunnable> a : plan.entrySet()) {
        attacks.add(attackers.submit(() -> attack(a.getKey(), a.getValue())));
        pause();
      }
      long deadline = System.nanoTime() + ATTACK_TIMEOUT.toNanos();
      for (Future<?> f : attacks) {
        f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
      long attacksTook = System.nanoTime() - attacksStart;
      cpuAtAttack = new long[] {hubCpuMillis() - cpuAtAttack[0], testCpuMillis() - cpuAtAttack[1]};
      timeline.mark(
          String.format(
              "attacks over: CPU used meanwhile: hub %.1f s, test JVM %.1f s",
              cpuAtAttack[0] / 1e3, cpuAtAttack[1] / 1e3));
      attacksOver.set(true);
      for (Future<?> f : fleet) {
        f.get(30, TimeUnit.SECONDS);
      }
      canary.closeAfter(5);
      stopAll.set(true);
      healthz.join(10_000);

      Map<String, Double> metrics = scrapeFigures();
      testGc.close();
      notePauses(dir.resolve(HUB_GC_LOG));
      report = report(t0, attacksTook, canary, metrics);
      assertThat(failures).as("failures%n%s", report).isEmpty();
      assertThat(hub.process().isAlive()).as("the hub process is alive%n%s", report).isTrue();
      assertThat(tally.get("fleet.tasks_ended"))
          .as("well-behaved tasks ended with their result%n%s", report)
          .isEqualTo(tally.get("fleet.tasks_started"))
          .isGreaterThanOrEqualTo((long) (PAIRS - PAIRS / AWAY_EVERY) * MIN_ROUNDS);
      assertThat(tally.get("fleet.held_delivered"))
          .as("held outcomes handed to returning owners%n%s", report)
          .isEqualTo((long) (PAIRS / AWAY_EVERY) * AWAY_TASKS);
      assertThat(Duration.ofNanos(fleetRtt.max()))
          .as("slowest well-behaved heartbeat round trip%n%s", report)
          .isLessThan(RTT_BOUND);
      canary.assertResponsive(5);
      assertThat(healthzLatency.count()).as("/healthz answers%n%s", report).isPositive();
      assertThat(tally.get("healthz.failed")).as("/healthz failures%n%s", report).isZero();
      assertThat(hub.log()).as("hub log").doesNotContain("OutOfMemoryError");
      // Still whole: it stops as a supervisor asks it to, cleanly.
      hub.signal("TERM");
      assertThat(hub.awaitExit(Duration.ofSeconds(30)))
          .as("the hub's exit code on SIGTERM%n%s", report)
          .isZero();
      passed = true;
    } finally {
      stopAll.set(true);
      attacksOver.set(true);
      if (canary != null) {
        try {
          canary.close();
        } catch (AssertionError e) {
          failures.add("canary: " + e.getMessage());
        }
      }
      drivers.shutdownNow();
      attackers.shutdownNow();
      testGc.close();
      if (!passed) {
        if (report.startsWith("(no")) {
          notePauses(dir.resolve(HUB_GC_LOG));
        }
        System.out.println(
            "MixedAttackFaultTest FAILED\n"
                + (report.startsWith("(no") ? safeReport(t0, canary) : report)
                + "\n--- hub log tail ---\n"
                + logTail(40));
      } else {
        System.out.println("MixedAttackFaultTest passed\n" + report);
      }
      if (hub != null) {
        hub.close();
      }
      fleetPool.shutdownNow();
      attackPool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------- the fleet

  /** One well-behaved device and its constellation, driven by one driver thread. */
  private final class Pair {
    final int n;
    final String deviceId;
    final String ownerId;
    final boolean goesAway;
    WsClient device;
    WsClient owner;
    boolean away;
    long leftAt;
    final Set<String> awaySessions = new HashSet<>();

    Pair(int n) {
      this.n = n;
      this.deviceId = "wb-dev-" + n;
      this.ownerId = "wb-galaxy-" + n;
      this.goesAway = n % AWAY_EVERY == 3;
    }

    void join() {
      device = connect(fleetHttp);
      device.send(ClientFrames.registerDevice(deviceId));
      Clients.assertRegistered(device.next());
      owner = connect(fleetHttp);
      owner.send(ClientFrames.registerConstellation(ownerId));
      Clients.assertRegistered(owner.next());
    }
  }

  /** Rounds over {@code group} until the attacks are over, at least {@link #MIN_ROUNDS}. */
  private void drive(List<Pair> group) {
    String where = "registration";
    try {
      for (Pair p : group) {
        p.join();
      }
      for (int round = 1;
          round <= MIN_ROUNDS || !attacksOver.get() || group.stream().anyMatch(p -> p.away);
          round++) {
        if (stopAll.get()) {
          return;
        }
        for (Pair p : group) {
          where = "heartbeat of " + p.deviceId + " in round " + round;
          heartbeat(p.device, p.deviceId);
          if (!p.away) {
            where = "heartbeat of " + p.ownerId + " in round " + round;
            heartbeat(p.owner, p.ownerId);
          }
        }
        List<Pair> active = new ArrayList<>();
        for (Pair p : group) {
          if (!p.away) {
            active.add(p);
          }
        }
        // One task per active pair, all in flight at once.
        for (Pair p : active) {
          where = "task of " + p.ownerId + " in round " + round;
          p.owner.send(ClientFrames.task(p.ownerId, p.deviceId, sid(p, round), request(p, round)));
          tally.add("fleet.tasks_started", 1);
        }
        for (Pair p : active) {
          where = "ack to " + p.ownerId + " in round " + round;
          ServerMessage ack = p.owner.next();
          check(ack.type() == ServerMessageType.HEARTBEAT, "ack " + ack);
          check(sid(p, round).equals(ack.sessionId()), "ack " + ack);
        }
        for (Pair p : active) {
          where = "task for " + p.deviceId + " in round " + round;
          ServerMessage task = p.device.next();
          check(task.type() == ServerMessageType.TASK, "task " + task);
          check(sid(p, round).equals(task.sessionId()), "task " + task);
          check(request(p, round).equals(task.userRequest()), "request of " + task.sessionId());
          p.device.send(
              JsonFrames.taskEnd(p.deviceId, sid(p, round), "completed", result(p, round), null));
        }
        for (Pair p : active) {
          where = "task_end for " + p.ownerId + " in round " + round;
          ServerMessage end = p.owner.next();
          check(end.type() == ServerMessageType.TASK_END, "task_end " + end);
          check(end.status() == TaskStatus.COMPLETED, "task_end " + end);
          check(sid(p, round).equals(end.sessionId()), "task_end " + end);
          check(result(p, round).equals(end.result()), "result of " + end.sessionId());
          check(end.error() == null, "task_end " + end);
          tally.add("fleet.tasks_ended", 1);
        }
        for (Pair p : group) {
          if (p.goesAway && round == AWAY_ROUND) {
            where = p.ownerId + " leaving";
            leave(p);
          } else if (p.away
              && (floodDone.getCount() == 0 || attacksOver.get())
              && System.nanoTime() - p.leftAt > Duration.ofSeconds(2).toNanos()) {
            where = p.ownerId + " coming back";
            comeBack(p);
          }
        }
        tally.add("fleet.rounds", 1);
        if (round == 1) {
          fleetWarm.countDown();
        }
        Thread.sleep(ROUND_PAUSE.toMillis());
      }
    } catch (Throwable t) {
      failures.add("fleet, " + where + ": " + t);
    }
  }

  private static String sid(Pair p, int round) {
    return "wb-" + p.n + "-" + round;
  }

  /** Requests of 100 to 8,000 characters. */
  private static String request(Pair p, int round) {
    return "wb " + ClientFrames.filler(100 + (p.n * 37 + round * 1_009) % 7_900);
  }

  private static Map<String, Object> result(Pair p, int round) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("session", sid(p, round));
    r.put("answer", "done by " + p.deviceId + " " + ClientFrames.filler((p.n + round) % 500));
    return r;
  }

  private void heartbeat(WsClient c, String id) {
    long start = System.nanoTime();
    c.send(ClientFrames.heartbeat(id));
    ServerMessage m = c.next();
    fleetRtt.add(start, System.nanoTime() - start, id);
    check(m.type() == ServerMessageType.HEARTBEAT && m.sessionId() == null, "heartbeat " + m);
  }

  /**
   * The owner starts tasks, its device takes them, and the owner leaves: the device is told each is
   * cancelled, and the outcomes are held for the owner.
   */
  private void leave(Pair p) {
    for (int k = 0; k < AWAY_TASKS; k++) {
      String sid = "wb-away-" + p.n + "-" + k;
      Clients.startTask(p.owner, p.ownerId, p.deviceId, sid, "wb away " + k);
      p.awaySessions.add(sid);
    }
    check(
        new HashSet<>(Clients.takeTasks(p.device, AWAY_TASKS)).equals(p.awaySessions),
        "tasks of " + p.deviceId);
    p.owner.close();
    Set<String> cancelled = new HashSet<>();
    for (int k = 0; k < AWAY_TASKS; k++) {
      ServerMessage m = p.device.next();
      check(m.type() == ServerMessageType.TASK_END, "cancel " + m);
      check("constellation_disconnected".equals(m.error()), "cancel " + m);
      cancelled.add(m.sessionId());
    }
    check(cancelled.equals(p.awaySessions), "cancelled " + cancelled);
    p.away = true;
    p.leftAt = System.nanoTime();
    timeline.mark(p.ownerId + " left with " + AWAY_TASKS + " tasks running");
    awayLeft.countDown();
  }

  /** The owner registers again: the registration reply, then each held outcome once. */
  private void comeBack(Pair p) {
    p.owner = connect(fleetHttp);
    p.owner.send(ClientFrames.registerConstellation(p.ownerId));
    Clients.assertRegistered(p.owner.next());
    Set<String> delivered = new HashSet<>();
    for (int k = 0; k < AWAY_TASKS; k++) {
      ServerMessage m = p.owner.next();
      check(m.type() == ServerMessageType.TASK_END, "held " + m);
      check(m.status() == TaskStatus.FAILED, "held " + m);
      check("constellation_disconnected".equals(m.error()), "held " + m);
      delivered.add(m.sessionId());
    }
    check(delivered.equals(p.awaySessions), "held outcomes " + delivered);
    tally.add("fleet.held_delivered", AWAY_TASKS);
    timeline.mark(p.ownerId + " came back and got its " + AWAY_TASKS + " held outcomes");
    p.away = false;
    p.awaySessions.clear();
  }

  // ---------------------------------------------------------------------------------- attacks

  /** Runs one attack, counting its time; a failure of the attack is a failure of the test. */
  private void attack(String name, ThrowingRunnable body) {
    long start = System.nanoTime();
    try {
      body.run();
    } catch (Throwable t) {
      failures.add("attack " + name + ": " + t);
    } finally {
      tally.add("attack." + name + ".millis", (System.nanoTime() - start) / 1_000_000);
    }
  }

  /** Finding 1: what a registration may make the hub cache. */
  private void registryAttack() {
    String frame = payloads.featureRegistration;
    for (int i = 0; i < FEATURE_REGISTRATIONS; i++) {
      try (WsClient m = connect(attackHttp)) {
        timeline.mark("registry: 145k features, #" + i);
        m.send(frame);
        tally.add("registry.bytes_sent", frame.length());
        ServerMessage reply = m.next();
        check(reply.type() == ServerMessageType.ERROR, "reply " + reply);
        check(reply.error().contains("max_device_features"), "reply " + reply.error());
        check(m.awaitClose() == CloseCodes.POLICY_VIOLATION, "close code");
        tally.add("registry.refused_features", 1);
      }
      pause();
    }
    String text = payloads.metadataRegistration;
    for (int i = 0; i < METADATA_REGISTRATIONS; i++) {
      try (WsClient m = connect(attackHttp)) {
        timeline.mark("registry: 3.5 MB metadata, #" + i);
        m.send(text);
        tally.add("registry.bytes_sent", text.length());
        ServerMessage reply = m.next();
        check(reply.type() == ServerMessageType.ERROR, "reply " + reply);
        check(reply.error().contains("max_client_info_bytes"), "reply " + reply.error());
        check(m.awaitClose() == CloseCodes.POLICY_VIOLATION, "close code");
        tally.add("registry.refused_metadata", 1);
      }
      pause();
    }
    WsClient info = registered(ClientFrames.registerDevice("info-dev"));
    String response = payloads.infoResponse;
    for (int i = 0; i < INFO_RESPONSES; i++) {
      timeline.mark("registry: 3.5 MB device_info_response, #" + i);
      info.send(response);
      tally.add("registry.bytes_sent", response.length());
      ServerMessage reply = info.next();
      check(reply.type() == ServerMessageType.ERROR, "reply " + reply);
      check(reply.error().contains("max_client_info_bytes"), "reply " + reply.error());
      tally.add("registry.refused_info", 1);
      pause();
    }
    Arena.assertOnlyAnswer(info, "info-dev");
  }

  private static String featureRegistration(String id) {
    StringBuilder b =
        new StringBuilder(FEATURES * 27 + 200)
            .append("{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",")
            .append("\"client_id\":\"")
            .append(id)
            .append("\",\"metadata\":{\"platform\":\"linux\",\"system_info\":{")
            .append("\"supported_features\":[");
    for (int i = 0; i < FEATURES; i++) {
      b.append('"').append(id, 0, 3).append("-feature-").append(1_000_000_000L + i).append("\",");
    }
    b.setCharAt(b.length() - 1, ']');
    return b.append("}}}").toString();
  }

  /** Finding 2: keys of one hash code, over WebSocket and over HTTP. */
  private void collisionAttack() {
    String frame = payloads.collidingHeartbeat;
    WsClient m = registered(ClientFrames.registerDevice("coll-dev"));
    for (int i = 0; i < COLLIDING_HEARTBEATS; i++) {
      long start = System.nanoTime();
      timeline.mark("collisions: heartbeat of 20k colliding keys");
      m.send(frame);
      tally.add("collisions.bytes_sent", frame.length());
      ServerMessage reply = m.next();
      long took = (System.nanoTime() - start) / 1_000_000;
      timeline.mark("collisions: answered after " + took + " ms");
      tally.max("collisions.max_answer_millis", took);
      check(reply.type() == ServerMessageType.HEARTBEAT, "reply " + reply);
      tally.add("collisions.heartbeats", 1);
      pause();
    }
    Arena.assertOnlyAnswer(m, "coll-dev");
    String body = payloads.collidingDispatch;
    for (int i = 0; i < COLLIDING_DISPATCHES; i++) {
      timeline.mark("collisions: dispatch body of 25k colliding keys");
      HubHttp.Reply r = http.post("/api/dispatch", body);
      tally.add("collisions.bytes_sent", body.length());
      check(r.status() == 400 && r.body().contains("JSON tokens"), "dispatch " + r.status());
      tally.add("collisions.refused_dispatches", 1);
      pause();
    }
  }

  private static String collidingObject(List<String> keys) {
    StringBuilder b = new StringBuilder(keys.size() * 40).append('{');
    for (String k : keys) {
      b.append('"').append(k).append("\":0,");
    }
    b.setCharAt(b.length() - 1, '}');
    return b.toString();
  }

  private static String collidingHeartbeat(String id, List<String> keys) {
    return "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\""
        + id
        + "\",\"metadata\":"
        + collidingObject(keys)
        + "}";
  }

  /**
   * Finding 3: an attacker's constellation and device run sessions of a 1 MiB request and a 1 MiB
   * result (two in each batch of the second pair objects of 20,000 fields, the costliest shape to
   * hold), a few in flight at once; then the constellation leaves with big sessions running.
   */
  private void bigSessions(int i) {
    String deviceId = "big-dev-" + i;
    String ownerId = "big-galaxy-" + i;
    WsClient device = registered(ClientFrames.registerDevice(deviceId));
    WsClient owner = registered(ClientFrames.registerConstellation(ownerId));
    String request = payloads.bigRequest;
    String stringEnd = payloads.stringEnds.get(i);
    String objectEnd = payloads.objectEnds.get(i);
    for (int b = 0; b < BIG_BATCHES; b++) {
      timeline.mark("big-sessions-" + i + ": batch " + b);
      List<String> sids = new ArrayList<>();
      for (int k = 0; k < BIG_IN_FLIGHT; k++) {
        String sid = "big-" + i + "-" + (b * BIG_IN_FLIGHT + k);
        owner.send(JsonFrames.task(ownerId, deviceId, sid, "big", request));
        sids.add(sid);
        tally.add("big.bytes_sent", BIG_CHARS);
      }
      for (String sid : sids) {
        ServerMessage ack = owner.next();
        check(ack.type() == ServerMessageType.HEARTBEAT, "ack " + ack);
      }
      for (int k = 0; k < sids.size(); k++) {
        String task = device.nextText(); // not decoded: the test's CPU is the hub's too
        check(task.length() > BIG_CHARS && task.contains("\"type\":\"task\""), "a big task");
        boolean object = i % 2 == 1 && k % 2 == 0;
        String end = (object ? objectEnd : stringEnd).replace("SESSION-ID", sessionId(task));
        device.send(end);
        tally.add("big.bytes_sent", end.length());
      }
      for (int k = 0; k < sids.size(); k++) {
        String end = owner.nextText();
        check(end.length() > BIG_CHARS, "a big result");
        check(end.contains("\"type\":\"task_end\""), "a task_end");
        check(end.contains("\"status\":\"completed\""), "completed");
        check(sids.contains(sessionId(end)), "one of " + sids);
        tally.add("big.sessions", 1);
      }
      bigSessionsExist.countDown();
      pause();
    }
    // The owner leaves with big sessions running: their cancellations are held for it.
    for (int k = 0; k < BIG_LEFT_RUNNING; k++) {
      Clients.startTask(owner, ownerId, deviceId, "big-left-" + i + "-" + k, request);
      check(device.nextText().contains("\"type\":\"task\""), "task");
      tally.add("big.left_running", 1);
    }
    owner.close();
    for (int k = 0; k < BIG_LEFT_RUNNING; k++) {
      check(device.next().type() == ServerMessageType.TASK_END, "cancel");
    }
  }

  /** An attacker's rest after a big frame: {@link #ATTACK_PAUSE}. */
  private static void pause() {
    try {
      Thread.sleep(ATTACK_PAUSE.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static final Pattern SESSION_ID = Pattern.compile("\"session_id\":\"([^\"]+)\"");

  /** The session id of a frame the hub sent, found without decoding it. */
  private static String sessionId(String frame) {
    Matcher m = SESSION_ID.matcher(frame);
    check(m.find(), "a session id in " + frame.substring(0, Math.min(200, frame.length())));
    return m.group(1);
  }

  /**
   * Every attack frame, built once before the hub starts and moved out of the young generation by
   * one collection: the test JVM then spends the attack sending them, not building them and copying
   * megabytes from one survivor space to the other, which shows as its own pauses in the fleet's
   * round trips (up to 400 ms each when they were built on the fly).
   */
  private static final class Payloads {
    final String featureRegistration = featureRegistration("reg-dev");
    final String metadataRegistration;
    final String infoResponse;
    final String collidingHeartbeat;
    final String collidingDispatch;
    final String bigRequest = "r".repeat(BIG_CHARS);
    final List<String> stringEnds = new ArrayList<>();
    final List<String> objectEnds = new ArrayList<>();
    final String httpEnd =
        JsonFrames.taskEnd("http-dev", "SESSION-ID", "completed", "y".repeat(BIG_CHARS), null);
    final String httpDispatch =
        HubHttp.write(
            Map.of(
                "client_id",
                "http-dev",
                "request",
                "h".repeat(HTTP_REQUEST_CHARS),
                "task_name",
                "TASK-NAME"));

    Payloads() {
      String blob = "b".repeat(BLOB_CHARS);
      Map<String, Object> systemInfo = new LinkedHashMap<>();
      systemInfo.put("device_id", "meta-dev");
      systemInfo.put("custom_metadata", Map.of("blob", blob));
      Map<String, Object> register = Frames.of("register", "ok", "device", "meta-dev");
      register.put("metadata", Map.of("platform", "linux", "system_info", systemInfo));
      metadataRegistration = Frames.json(register);
      infoResponse =
          Frames.infoResponse("device", "info-dev", Map.of("device_id", "info-dev", "blob", blob));
      collidingHeartbeat = collidingHeartbeat("coll-dev", Collisions.keys(COLLIDING_KEYS, 17, "x"));
      collidingDispatch =
          "{\"client_id\":\"coll-dev\",\"request\":\"x\",\"task_name\":\"collide\",\"junk\":"
              + collidingObject(Collisions.keys(25_000, 16, "x"))
              + "}";
      for (int i = 0; i < BIG_PAIRS; i++) {
        String device = "big-dev-" + i;
        stringEnds.add(
            JsonFrames.taskEnd(device, "SESSION-ID", "completed", "x".repeat(BIG_CHARS), null));
        objectEnds.add(JsonFrames.taskEnd(device, "SESSION-ID", "completed", bigObject(), null));
      }
    }
  }

  private static Map<String, Object> bigObject() {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < OBJECT_FIELDS; i++) {
      m.put("field_" + (100_000 + i), "value of field " + (100_000 + i) + " " + "v".repeat(20));
    }
    return m;
  }

  /**
   * Finding 3 over HTTP: dispatches of 900 KB requests to an attacker's device that answers each
   * with a 1 MiB result; then each result is read back (kept as a truncation marker).
   */
  private void httpDispatchAttack() throws Exception {
    WsClient device = registered(ClientFrames.registerDevice("http-dev"));
    AtomicInteger answered = new AtomicInteger();
    String end = payloads.httpEnd;
    Thread responder =
        new Thread(
            () -> {
              try {
                while (answered.get() < HTTP_DISPATCHES && !stopAll.get()) {
                  String task = device.nextText();
                  check(task.contains("\"type\":\"task\""), "a dispatched task");
                  device.send(end.replace("SESSION-ID", sessionId(task)));
                  tally.add("http.bytes_sent", end.length());
                  answered.incrementAndGet();
                }
              } catch (Throwable t) {
                failures.add("attack http-dispatch responder: " + t);
              }
            },
            "attack-http-dev");
    responder.setDaemon(true);
    responder.start();
    for (int j = 0; j < HTTP_DISPATCHES; j++) {
      timeline.mark("http-dispatch: 900 KB request #" + j);
      HubHttp.Reply r =
          http.post("/api/dispatch", payloads.httpDispatch.replace("TASK-NAME", "big_http_" + j));
      tally.add("http.bytes_sent", HTTP_REQUEST_CHARS);
      check(r.status() == 200, "dispatch " + r.status() + " " + r.body());
      tally.add("http.dispatched", 1);
      pause();
    }
    responder.join(30_000);
    check(answered.get() == HTTP_DISPATCHES, "dispatches answered: " + answered.get());
    for (int j = 0; j < HTTP_DISPATCHES; j++) {
      // The device sent its task_end; the hub may not have read it yet.
      String path = "/api/task_result/big_http_" + j;
      long deadline = System.nanoTime() + WsClient.WAIT.toNanos();
      Map<String, Object> r = http.get(path).ok(200);
      while (!"done".equals(r.get("status")) && System.nanoTime() < deadline) {
        Thread.sleep(50);
        r = http.get(path).ok(200);
      }
      check("done".equals(r.get("status")), path + " " + r.get("status"));
      check(r.get("result") instanceof Map, path + " result kept as a truncation marker");
      tally.add("http.results_read", 1);
    }
  }

  /**
   * Finding 4: HTTP clients that pipeline big answers and never read, and dashboard feed viewers
   * that never read, all with a 4 KiB receive buffer. They stay until the attacks are over.
   */
  private void nonReaders() throws Exception {
    check(bigSessionsExist.await(30, TimeUnit.SECONDS), "big sessions exist");
    StringBuilder batch = new StringBuilder();
    for (int i = 0; i < PIPELINED; i++) {
      String target =
          i % 3 == 0
              ? "/api/sessions?limit=1000"
              : i % 3 == 1 ? "/api/sessions/big-0-" + (i % BIG_IN_FLIGHT) : "/metrics";
      batch.append(RawSocket.get(target, RawSocket.host(port), "X-API-Key: " + KEY));
    }
    List<RawSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < PIPELINERS; i++) {
        RawSocket s = RawSocket.open(port, null, 4096);
        sockets.add(s);
        timeline.mark("non-readers: " + PIPELINED + " pipelined requests, never read, #" + i);
        s.write(batch.toString());
        tally.add("non_readers.pipelined_requests", PIPELINED);
      }
      for (int i = 0; i < FEED_VIEWERS; i++) {
        RawSocket s = RawSocket.open(port, null, 4096);
        sockets.add(s);
        s.write(
            RawSocket.get(
                "/api/events",
                RawSocket.host(port),
                "X-API-Key: " + KEY,
                "Accept: text/event-stream"));
        tally.add("non_readers.feed_viewers", 1);
      }
      // They sit there, reading nothing, while the other attacks run.
      while (!attacksOverButThis()) {
        Thread.sleep(100);
      }
    } finally {
      for (RawSocket s : sockets) {
        s.abort();
      }
    }
  }

  /** Whether every attack but the non-readers is over: the flood is the last to start. */
  private boolean attacksOverButThis() {
    return stopAll.get() || (floodDone.getCount() == 0 && tally.get("big.sessions") >= bigTotal());
  }

  private static long bigTotal() {
    return (long) BIG_PAIRS * BIG_BATCHES * BIG_IN_FLIGHT;
  }

  /**
   * Finding 8: while the away constellations are offline with outcomes held, another client runs
   * thousands of tiny sessions, in batches.
   */
  private void flood() throws Exception {
    WsClient device = registered(ClientFrames.registerDevice("flood-dev"));
    WsClient owner = registered(ClientFrames.registerConstellation("flood-galaxy"));
    try {
      check(awayLeft.await(30, TimeUnit.SECONDS), "the away owners left");
      timeline.mark("flood: starts");
      for (int start = 0; start < FLOOD_SESSIONS; start += FLOOD_BATCH) {
        int end = Math.min(FLOOD_SESSIONS, start + FLOOD_BATCH);
        for (int i = start; i < end; i++) {
          owner.send(ClientFrames.task("flood-galaxy", "flood-dev", "flood-" + i, "tiny"));
        }
        for (int i = start; i < end; i++) {
          check(owner.next().type() == ServerMessageType.HEARTBEAT, "flood ack");
        }
        for (int i = start; i < end; i++) {
          String sid = device.next().sessionId();
          device.send(ClientFrames.taskEnd("flood-dev", sid, "\"ok\""));
        }
        for (int i = start; i < end; i++) {
          check(owner.next().type() == ServerMessageType.TASK_END, "flood task_end");
          tally.add("flood.sessions", 1);
        }
      }
    } finally {
      timeline.mark("flood: over");
      floodDone.countDown();
    }
  }

  // ---------------------------------------------------------------------------------- probes

  private void probeHealthz() {
    while (!stopAll.get()) {
      long start = System.nanoTime();
      try {
        HubHttp.Reply r = http.send(http.bare("/healthz").GET());
        healthzLatency.add(start, System.nanoTime() - start, "/healthz");
        if (r.status() != 200) {
          tally.add("healthz.failed", 1);
          failures.add("/healthz answered " + r.status());
        }
      } catch (Throwable t) {
        tally.add("healthz.failed", 1);
        failures.add("/healthz: " + t);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private Map<String, Double> scrapeFigures() {
    Map<String, Double> out = new LinkedHashMap<>();
    try {
      HubHttp.Reply r = http.get("/metrics");
      List<PrometheusText.Sample> samples = PrometheusText.parse(r.body());
      for (PrometheusText.Sample s : samples) {
        String name = s.name();
        if (name.startsWith("hub_limits_exceeded_total")
            || name.startsWith("hub_held_outcomes_dropped_total")
            || name.equals("hub_slow_consumer_closes_total")
            || name.equals("hub_session_bytes")
            || name.equals("hub_held_outcome_bytes")
            || name.equals("hub_sessions_held")
            || name.startsWith("hub_frames_rejected_total")
            || name.startsWith("hub_registrations_total")
            || (name.equals("jvm_memory_used_bytes") && "heap".equals(s.labels().get("area")))
            || name.equals("jvm_gc_pause_seconds_max")) {
          out.merge(name + (s.labels().isEmpty() ? "" : s.labels()), s.value(), Double::sum);
        }
      }
    } catch (Throwable t) {
      failures.add("scraping /metrics: " + t);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------- report

  private String report(long t0, long attacksTook, Canary canary, Map<String, Double> metrics) {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            "duration: %.1f s (attacks %.1f s); load average now %.1f; test JVM GC time %d ms%n",
            secs(System.nanoTime() - t0),
            secs(attacksTook),
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
            testGcMillis() - gcAtStart));
    b.append("fleet heartbeat RTT (ms): ").append(fleetRtt.summary()).append('\n');
    if (canary != null) {
      b.append(
          String.format(
              "canary: %d heartbeats, slowest %d ms%n",
              canary.answered(), canary.slowest().toMillis()));
    }
    b.append("/healthz latency (ms): ").append(healthzLatency.summary()).append('\n');
    b.append("slowest fleet heartbeats:\n");
    fleetRtt.slowest(10, timeline.t0()).forEach(l -> b.append("  ").append(l).append('\n'));
    b.append("slowest /healthz:\n");
    healthzLatency.slowest(3, timeline.t0()).forEach(l -> b.append("  ").append(l).append('\n'));
    b.append("timeline:\n");
    timeline.marks().forEach(l -> b.append("  ").append(l).append('\n'));
    b.append("counts:\n");
    tally
        .snapshot()
        .forEach((k, v) -> b.append("  ").append(k).append(" = ").append(v).append('\n'));
    b.append("hub metrics:\n");
    metrics.forEach((k, v) -> b.append("  ").append(k).append(" = ").append(v).append('\n'));
    if (!failures.isEmpty()) {
      b.append("failures:\n");
      failures.forEach(f -> b.append("  ").append(f).append('\n'));
    }
    return b.toString();
  }

  private long hubCpuMillis() {
    return hub.process().info().totalCpuDuration().map(Duration::toMillis).orElse(-1L);
  }

  private static long testCpuMillis() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean
        ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() / 1_000_000
        : -1;
  }

  private static long testGcMillis() {
    long sum = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      sum += Math.max(0, gc.getCollectionTime());
    }
    return sum;
  }

  private String safeReport(long t0, Canary canary) {
    try {
      return report(t0, 0, canary, http == null ? Map.of() : scrapeFigures());
    } catch (Throwable t) {
      return "report failed: " + t + "\nfailures: " + failures + "\ncounts: " + tally.snapshot();
    }
  }

  /** The hub's WARN and ERROR lines (the last 100), then its last {@code lines} lines. */
  private String logTail(int lines) {
    if (hub == null) {
      return "";
    }
    List<String> all = Arrays.asList(hub.log().split("\n"));
    List<String> warnings = new ArrayList<>();
    for (String l : all) {
      if (!l.startsWith("20") || l.contains(" WARN ") || l.contains(" ERROR ")) {
        warnings.add(l); // also stack traces and stderr, which carry no timestamp
      }
    }
    return "WARN, ERROR and unformatted lines:\n"
        + String.join("\n", warnings.subList(Math.max(0, warnings.size() - 100), warnings.size()))
        + "\nlast "
        + lines
        + " lines:\n"
        + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private static double secs(long nanos) {
    return nanos / 1e9;
  }

  // ---------------------------------------------------------------------------------- helpers

  private WsClient connect(HttpClient transport) {
    return WsClient.connect(transport, URI.create("ws://127.0.0.1:" + port + "/ws?token=" + KEY));
  }

  /** An attacker's client, registered with {@code registerFrame}. */
  private WsClient registered(String registerFrame) {
    WsClient c = connect(attackHttp);
    c.send(registerFrame);
    Clients.assertRegistered(c.next());
    return c;
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("unexpected: " + what);
    }
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** Named counters, printed in the report. */
  private static final class Tally {
    private final Map<String, LongAdder> counts = new ConcurrentSkipListMap<>();
    private final Map<String, Long> maxima = new ConcurrentSkipListMap<>();

    void add(String name, long n) {
      counts.computeIfAbsent(name, k -> new LongAdder()).add(n);
    }

    void max(String name, long v) {
      maxima.merge(name, v, Math::max);
    }

    long get(String name) {
      LongAdder a = counts.get(name);
      return a == null ? 0 : a.sum();
    }

    Map<String, Long> snapshot() {
      Map<String, Long> out = new ConcurrentSkipListMap<>(maxima);
      counts.forEach((k, v) -> out.put(k, v.sum()));
      return out;
    }
  }

  /** Round trips (or latencies) in nanoseconds, each with when it started and for whom. */
  private static final class Samples {
    private long[] starts = new long[1024];
    private long[] values = new long[1024];
    private String[] labels = new String[1024];
    private int n;

    synchronized void add(long startNanos, long nanos, String label) {
      if (n == values.length) {
        starts = Arrays.copyOf(starts, n * 2);
        values = Arrays.copyOf(values, n * 2);
        labels = Arrays.copyOf(labels, n * 2);
      }
      starts[n] = startNanos;
      values[n] = nanos;
      labels[n++] = label;
    }

    synchronized int count() {
      return n;
    }

    synchronized long max() {
      long m = 0;
      for (int i = 0; i < n; i++) {
        m = Math.max(m, values[i]);
      }
      return m;
    }

    synchronized String summary() {
      if (n == 0) {
        return "no samples";
      }
      long[] s = Arrays.copyOf(values, n);
      Arrays.sort(s);
      return String.format(
          "n=%d p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f",
          n,
          s[n / 2] / 1e6,
          s[(int) (n * 0.9)] / 1e6,
          s[(int) (n * 0.99)] / 1e6,
          s[Math.min(n - 1, (int) (n * 0.999))] / 1e6,
          s[n - 1] / 1e6);
    }

    /** The {@code k} slowest, as "+start s: label took ms" lines, slowest first. */
    synchronized List<String> slowest(int k, long t0) {
      Integer[] order = new Integer[n];
      for (int i = 0; i < n; i++) {
        order[i] = i;
      }
      Arrays.sort(order, (a, b) -> Long.compare(values[b], values[a]));
      List<String> out = new ArrayList<>();
      for (int i = 0; i < Math.min(k, n); i++) {
        int j = order[i];
        out.add(
            String.format(
                "+%6.2f s  %s took %.0f ms", (starts[j] - t0) / 1e9, labels[j], values[j] / 1e6));
      }
      return out;
    }
  }

  /**
   * What happened when, to read beside the slowest round trips: the attacks' steps, and the pauses
   * of both JVMs' collectors of at least {@link #PAUSE_WORTH_NOTING}.
   */
  private static final class Timeline {
    private final long t0 = System.nanoTime();
    private final long wallT0 = System.currentTimeMillis();
    private final Map<Long, String> marks = new ConcurrentSkipListMap<>();
    private final AtomicInteger tie = new AtomicInteger();

    void mark(String what) {
      markAt(System.nanoTime() - t0, what);
    }

    /** A mark at {@code epochMillis}, a time read from a log. */
    void markAtWallClock(long epochMillis, String what) {
      markAt((epochMillis - wallT0) * 1_000_000, what);
    }

    private void markAt(long offsetNanos, String what) {
      // Ordered by time; the low bits keep marks of one instant apart.
      marks.put(offsetNanos * 1024 + (tie.incrementAndGet() & 1023), what);
    }

    long t0() {
      return t0;
    }

    List<String> marks() {
      List<String> out = new ArrayList<>();
      marks.forEach((k, v) -> out.add(String.format("+%6.2f s  %s", (k / 1024) / 1e9, v)));
      return out;
    }
  }

  private static final Duration PAUSE_WORTH_NOTING = Duration.ofMillis(50);

  /** Notes this JVM's collector pauses in the timeline; close it to stop. */
  private AutoCloseable watchTestGc() {
    List<Runnable> undo = new ArrayList<>();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!(gc instanceof NotificationEmitter)) {
        continue;
      }
      NotificationEmitter emitter = (NotificationEmitter) gc;
      NotificationListener listener =
          (n, handback) -> {
            if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
                n.getType())) {
              return;
            }
            GarbageCollectionNotificationInfo info =
                GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
            long ms = info.getGcInfo().getDuration();
            if (ms >= PAUSE_WORTH_NOTING.toMillis()) {
              timeline.mark(
                  "test JVM: " + info.getGcName() + " " + ms + " ms (" + info.getGcCause() + ")");
            }
          };
      emitter.addNotificationListener(listener, null, null);
      undo.add(
          () -> {
            try {
              emitter.removeNotificationListener(listener);
            } catch (ListenerNotFoundException e) {
              // gone already
            }
          });
    }
    return () -> undo.forEach(Runnable::run);
  }

  private static final Pattern HUB_PAUSE =
      Pattern.compile("^\\[([^\\]]+)\\].*(Pause [^(]*\\([^)]*\\)).* (\\d+\\.\\d+)ms$");

  /** Notes the hub's collector pauses (from its GC log) in the timeline. */
  private void notePauses(Path gcLog) {
    try {
      for (String line : Files.readAllLines(gcLog)) {
        Matcher m = HUB_PAUSE.matcher(line);
        if (m.find() && Double.parseDouble(m.group(3)) >= PAUSE_WORTH_NOTING.toMillis()) {
          long at = OffsetDateTime.parse(m.group(1), GC_LOG_TIME).toInstant().toEpochMilli();
          timeline.markAtWallClock(
              at,
              "hub: GC "
                  + m.group(2).trim()
                  + " "
                  + Math.round(Double.parseDouble(m.group(3)))
                  + " ms");
        }
      }
    } catch (IOException | RuntimeException e) {
      timeline.mark("(could not read the hub's GC log: " + e + ")");
    }
  }

  private static final DateTimeFormatter GC_LOG_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ");
}
