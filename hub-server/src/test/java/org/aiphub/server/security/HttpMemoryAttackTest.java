package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.SESSION_BYTES;
import static org.aiphub.server.config.Settings.SESSION_BYTES_PER_OWNER;
import static org.aiphub.server.config.Settings.SESSION_RESULT_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.Channel;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.PlatformDependent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.http.JsonViews;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attack: make the hub spend its direct memory on answers nobody reads. Before, {@code GET
 * /api/sessions?limit=1000} inlined every request and result (42 MB for 40 results of 1 MiB),
 * pipelined requests were all answered into the queue of a client that never read, and a buffer
 * whose allocation failed half-way was never released: direct memory stayed high with every socket
 * closed, until {@code /api/sessions}, {@code /metrics} and heartbeats failed. Now lists carry
 * bounded summaries, a client that does not read its answers has at most one answer queued beyond
 * the write buffer's high water mark (the rest of its pipelined requests wait, unread), and it is
 * closed once it stays unwritable for {@code slow_consumer_timeout}, counted in {@code
 * hub_slow_consumer_closes_total}; the dashboard feed drops a viewer that does not read instead of
 * queueing for it. Memory comes back once they are gone, and Netty's leak detector (at PARANOID
 * from the attack on) reports nothing.
 */
class HttpMemoryAttackTest {
  private static final Duration SLOW = Duration.ofSeconds(2);
  private static final int BIG_SESSIONS = 12;
  private static final int RESULT_CHARS = 1024 * 1024;
  private static final int REQUEST_CHARS = 64 * 1024;
  private static final int ATTACKERS = 6;
  private static final int PIPELINED = 24;
  private static final long MIB = 1024 * 1024;

  /** What the allocator may hold beyond the bytes queued: chunks are reserved, not bytes. */
  private static final long ALLOCATOR_SLACK = 32 * MIB;

  private static ResourceLeakDetector.Level previousLevel;

  @BeforeAll
  static void rememberLeakDetection() {
    previousLevel = ResourceLeakDetector.getLevel();
  }

  @AfterAll
  static void restoreLeakDetection() {
    ResourceLeakDetector.setLevel(previousLevel);
  }

  /**
   * Netty's leak detector at PARANOID (every buffer tracked) from here on: set once the stage is
   * built, since tracking every buffer of megabyte frames slows the set-up tenfold.
   */
  private static void paranoidFromHere() {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  /**
   * Keeps 1 MiB results whole in the history (past the default {@code session_result_bytes} they
   * would be kept as a truncation marker): these attacks are about answers, not about what is kept.
   */
  private static HubConfig.Builder keepBigResults(HubConfig.Builder b) {
    return b.set(SESSION_RESULT_BYTES, 4L << 20)
        .set(SESSION_BYTES_PER_OWNER, 256L << 20)
        .set(SESSION_BYTES, 512L << 20);
  }

  @Test
  void theListsShowSummariesNeverBodies() {
    try (Arena a = Arena.start(HttpMemoryAttackTest::keepBigResults)) {
      List<String> ids = bigSessions(a, 5);
      HubHttp.Reply list = a.http().get("/api/sessions?limit=1000");
      assertThat(list.status()).isEqualTo(200);
      assertThat(list.body().length())
          .as("the list of 6 sessions (5 with 1 MiB results)")
          .isLessThan(6 * 2_000);
      assertThat(list.body()).doesNotContain("x".repeat(JsonViews.PREVIEW_CHARS));
      try (FeedViewer viewer = FeedViewer.open(a)) {
        String snapshot = viewer.awaitText("\"type\":\"snapshot\"");
        assertThat(snapshot).contains(ids.get(0));
        assertThat(snapshot.length()).as("the feed's snapshot").isLessThan(64 * 1024);
      }
      // The record of one session is where the bodies are.
      HubHttp.Reply one = a.http().get("/api/sessions/" + ids.get(0));
      assertThat(one.body().length()).isGreaterThan(RESULT_CHARS);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void clientsThatPipelineBigAnswersAndNeverReadHoldOneAnswerEachAndAreClosed() throws Exception {
    try (LogCapture leaks = LogCapture.attach(Level.ERROR, ResourceLeakDetector.class.getName());
        Arena a = Arena.start(b -> keepBigResults(b).set(SLOW_CONSUMER_TIMEOUT, SLOW))) {
      List<String> ids = bigSessions(a, BIG_SESSIONS);
      long answer = a.http().get("/api/sessions/" + ids.get(0)).body().length() + 1024L;
      long high = a.hub().server().config().limits().writeBufferHigh();
      double closedBefore = a.scraped("hub_slow_consumer_closes_total");
      long baseline = directMemory();
      paranoidFromHere();

      // Each attacker asks for big answers, again and again, in one go, and reads nothing.
      StringBuilder batch = new StringBuilder();
      for (int i = 0; i < PIPELINED; i++) {
        String target =
            i % 3 == 0
                ? "/api/sessions?limit=1000"
                : i % 3 == 1 ? "/api/sessions/" + ids.get(i % ids.size()) : "/metrics";
        batch.append(
            RawSocket.get(target, RawSocket.host(a.hub()), "X-API-Key: " + a.hub().operatorKey()));
      }
      List<RawSocket> attackers = new ArrayList<>();
      for (int i = 0; i < ATTACKERS; i++) {
        RawSocket s = a.track(RawSocket.open(a.hub(), null, 4096));
        // Accepted before it asks: from here on, its channel missing means the hub closed it.
        await().until(() -> HubState.channel(a.hub().server(), s.localPort()).isPresent());
        s.write(batch.toString());
        attackers.add(s);
      }
      long attacked = Timing.now();

      // While they sit there, each holds at most one answer beyond the high water mark, and the
      // hub's direct memory grows by about that much per attacker, not by what they asked for.
      AtomicLong peak = new AtomicLong();
      AtomicLong peakPending = new AtomicLong();
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                peak.accumulateAndGet(directMemory() - baseline, Math::max);
                for (RawSocket s : attackers) {
                  HubState.channel(a.hub().server(), s.localPort())
                      .map(HubState::pendingBytes)
                      .ifPresent(p -> peakPending.accumulateAndGet(p, Math::max));
                }
                return attackers.stream()
                    .allMatch(s -> HubState.channel(a.hub().server(), s.localPort()).isEmpty());
              });
      assertThat(peakPending.get())
          .as(
              "bytes queued for one attacker (answers of up to %d bytes asked %d times)",
              answer, PIPELINED)
          .isPositive()
          .isLessThanOrEqualTo(high + answer);
      assertThat(peak.get())
          .as("direct memory growth during the attack (%d attackers)", ATTACKERS)
          .isLessThan(ATTACKERS * (high + answer) + ALLOCATOR_SLACK);

      // Closed for not reading, after the slow-consumer timeout, and counted.
      Timing.assertWithinConfiguredTime("slow readers closed", attacked, SLOW);
      for (RawSocket s : attackers) {
        assertThat(s.closedByHub()).isTrue();
      }
      assertThat(a.scraped("hub_slow_consumer_closes_total") - closedBefore).isEqualTo(ATTACKERS);

      // With them gone the memory is back, and nothing leaked.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> directMemory() - baseline < ALLOCATOR_SLACK);
      assertNoLeakReported(leaks);

      // The hub still serves: lists, metrics, heartbeats.
      assertThat(a.http().get("/api/sessions?limit=1000").status()).isEqualTo(200);
      assertThat(a.http().get("/metrics").status()).isEqualTo(200);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  /**
   * A dashboard viewer that stops reading while big deltas keep coming (a device whose device
   * config gives it thousands of tags, heartbeating) is dropped at the next broadcast once it has
   * not taken what it was sent; what is queued for it stays within one message beyond the high
   * water mark. Counted as a slow consumer.
   */
  @Test
  void aFeedViewerThatStopsReadingIsDroppedNotBufferedFor(@TempDir Path dir) throws Exception {
    StringBuilder tags = new StringBuilder("devices:\n  tag-heavy:\n    tags: [");
    for (int i = 0; i < 20_000; i++) {
      tags.append(i == 0 ? "" : ", ").append("tag-with-a-long-name-").append(i);
    }
    Path config = Files.writeString(dir.resolve("devices.yaml"), tags.append("]\n").toString());
    try (Arena a =
        Arena.start(b -> b.set(DEVICE_CONFIG, config).set(SLOW_CONSUMER_TIMEOUT, SLOW))) {
      WsClient heavy = a.device("tag-heavy");
      double closedBefore = a.scraped("hub_slow_consumer_closes_total");
      long high = a.hub().server().config().limits().writeBufferHigh();

      paranoidFromHere();
      RawSocket viewer = a.track(RawSocket.open(a.hub(), null, 4096));
      viewer.write(
          RawSocket.get(
              "/api/events",
              RawSocket.host(a.hub()),
              "X-API-Key: " + a.hub().operatorKey(),
              "Accept: text/event-stream"));
      await().until(() -> HubState.feedViewers(a.hub().server()) == 1);
      Channel ch = HubState.channel(a.hub().server(), viewer.localPort()).orElseThrow();
      AtomicLong peakPending = new AtomicLong();
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                heavy.send(Frames.heartbeat("tag-heavy")); // a delta with its 500 KB row
                heavy.next();
                peakPending.accumulateAndGet(HubState.pendingBytes(ch), Math::max);
                return !ch.isOpen();
              });
      long row = 20_000L * "\"tag-with-a-long-name-00000\",".length();
      assertThat(peakPending.get()).isLessThanOrEqualTo(high + 2 * row + 64 * 1024);
      assertThat(viewer.closedByHub()).isTrue();
      assertThat(HubState.feedViewers(a.hub().server())).isZero();
      assertThat(a.scraped("hub_slow_consumer_closes_total") - closedBefore).isEqualTo(1);
      // Another viewer is served as before.
      try (FeedViewer fresh = FeedViewer.open(a)) {
        assertThat(fresh.awaitText("\"type\":\"snapshot\"")).contains("tag-heavy");
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  /**
   * {@code n} finished sessions whose request is 64 KiB and whose result 1 MiB, between a device
   * and a constellation of the attacker's; their ids, newest first.
   */
  private static List<String> bigSessions(Arena a, int n) {
    WsClient dev = a.device("big-dev");
    WsClient galaxy = a.constellation("big-galaxy");
    String request = "q".repeat(REQUEST_CHARS);
    Map<String, Object> result = Map.of("text", "x".repeat(RESULT_CHARS));
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String sid = "big-" + i;
      galaxy.send(Frames.task("big-galaxy", "big-dev", sid, request));
      assertThat(galaxy.next().sessionId()).isEqualTo(sid);
      assertThat(dev.next().sessionId()).isEqualTo(sid);
      dev.send(Frames.taskEnd("big-dev", sid, "completed", result));
      assertThat(galaxy.next().sessionId()).isEqualTo(sid);
      ids.add(0, sid);
    }
    return ids;
  }

  /**
   * Direct memory in use: what Netty's own counter says when it keeps one, else what the hub's
   * allocator holds.
   */
  private static long directMemory() {
    long counted = PlatformDependent.usedDirectMemory();
    if (counted >= 0) {
      return counted;
    }
    return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory();
  }

  /**
   * Netty's leak detector reports a buffer that was garbage-collected unreleased the next time it
   * tracks one: collect, allocate a few, then look for its report.
   */
  private static void assertNoLeakReported(LogCapture leaks) {
    for (int i = 0; i < 5; i++) {
      System.gc();
      for (int j = 0; j < 100; j++) {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(64);
        b.release();
      }
    }
    assertThat(leaks.events())
        .extracting(e -> e.getFormattedMessage())
        .noneMatch(m -> m.contains("LEAK"));
  }
}
