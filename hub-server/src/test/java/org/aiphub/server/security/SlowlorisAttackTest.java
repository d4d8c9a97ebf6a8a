package org.aiphub.server.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.aiphub.server.config.Settings.HANDSHAKE_TIMEOUT;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS;
import static org.aiphub.server.config.Settings.REGISTRATION_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;

/**
 * Attack 11: slowloris. Sockets that connect and never send a request, or trickle one byte by byte,
 * get a 408 with a JSON reason and are closed after the handshake timeout, however slowly they keep
 * sending; sockets that upgrade and never register (or only trickle fragments or pings) are closed
 * with 1008 after the registration timeout. Each close comes no sooner than its timeout after the
 * connect and no later than that plus {@link Timing#SLACK}. Meanwhile they count against {@code
 * max_connections}, and their slots come back once they are closed.
 */
class SlowlorisAttackTest {
  private static final Duration HANDSHAKE = Duration.ofMillis(500);
  private static final Duration REGISTRATION = Duration.ofSeconds(1);

  private static Arena arena() {
    return Arena.start(
        b -> b.set(HANDSHAKE_TIMEOUT, HANDSHAKE).set(REGISTRATION_TIMEOUT, REGISTRATION));
  }

  @Test
  void socketsThatNeverSendARequestGet408AndAreClosed() {
    try (Arena a = arena()) {
      List<RawSocket> idle = new ArrayList<>();
      long[] connected = new long[5];
      for (int i = 0; i < 5; i++) {
        connected[i] = Timing.now();
        idle.add(a.socket());
      }
      for (int i = 0; i < 5; i++) {
        RawSocket s = idle.get(i);
        assertThat(s.readReply().error(408)).contains("no complete request within 500 ms");
        Timing.assertAfterConfiguredTime("408 for socket " + i, connected[i], HANDSHAKE);
        assertThat(s.closedByHub()).isTrue();
        Timing.assertAfterConfiguredTime("close of socket " + i, connected[i], HANDSHAKE);
      }
      assertThat(refused(a, "handshake_timeout")).isGreaterThanOrEqualTo(5);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void requestsTrickledByteByByteAreCutOffWith408() throws Exception {
    try (Arena a = arena()) {
      String host = RawSocket.host(a.hub());
      String api =
          "GET /api/clients HTTP/1.1\r\n" + host + "\r\nX-API-Key: " + TestHub.KEY + "\r\n";
      String ws = RawSocket.upgrade(RawSocket.wsTarget(), host);
      for (String start : new String[] {api, ws.substring(0, ws.length() - 2)}) {
        // The request never ends: after its start come header lines without end.
        byte[] head = start.getBytes(UTF_8);
        IntFunction<Byte> nth =
            i -> {
              if (i < head.length) {
                return head[i];
              }
              return (byte) ("X-Slow: " + i + "\r\n").charAt(i % 10);
            };
        long connected = Timing.now();
        RawSocket s = a.socket();
        try (Trickle t = Trickle.start(s, nth)) {
          // Bytes keep coming, yet the deadline still runs from the connect.
          assertThat(s.readReply().error(408)).contains("no complete request");
          assertThat(s.closedByHub()).isTrue();
          Timing.assertAfterConfiguredTime("cut-off of a trickled request", connected, HANDSHAKE);
          assertThat(t.sent()).as("bytes trickled before the cut").isPositive();
        }
      }
      // A kept-alive connection that goes quiet after its answer is cut off the same way. (Only
      // an upper bound here: the hub starts the deadline when it writes the answer, a little
      // before this side has read it.)
      RawSocket k = a.socket();
      k.write(RawSocket.get("/api/clients", host, "X-API-Key: " + TestHub.KEY));
      assertThat(k.readReply().status()).isEqualTo(200);
      long answered = Timing.now();
      assertThat(k.readReply().error(408)).contains("no complete request");
      assertThat(k.closedByHub()).isTrue();
      Timing.assertWithinConfiguredTime("cut-off of a quiet kept-alive", answered, HANDSHAKE);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void upgradedSocketsThatNeverRegisterAreClosedWith1008() throws Exception {
    try (Arena a = arena()) {
      long silentConnected = Timing.now();
      RawSocket silent = upgraded(a);
      long pingingConnected = Timing.now();
      RawSocket pinging = upgraded(a);
      long fragmentsConnected = Timing.now();
      RawSocket fragments = upgraded(a);
      byte[] register = ClientFrames.registerDevice("slow-dev").getBytes(UTF_8);
      // Pings keep nothing alive before registration, nor does a register frame trickled in
      // fragments that never end.
      try (Trickle pings =
              Trickle.frames(
                  pinging, i -> RawSocket.frame(RawWsClient.PING, true, new byte[] {1}));
          Trickle pieces =
              Trickle.frames(
                  fragments,
                  i ->
                      RawSocket.frame(
                          i == 0 ? RawWsClient.TEXT : RawWsClient.CONTINUATION,
                          false,
                          new byte[] {register[i % register.length]}))) {
        assertRegistrationTimeout(silent, silentConnected, REGISTRATION);
        assertRegistrationTimeout(pinging, pingingConnected, REGISTRATION);
        assertRegistrationTimeout(fragments, fragmentsConnected, REGISTRATION);
        assertThat(pings.sent()).as("pings sent").isPositive();
        assertThat(pieces.sent()).as("fragments sent").isPositive();
      }
      assertThat(a.registry().isOnline("slow-dev")).isFalse();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void idleSocketsCountAgainstMaxConnectionsUntilTheyAreClosed() {
    Duration timeout = Duration.ofSeconds(3);
    // The innocents hold two of the five slots.
    try (Arena a =
        Arena.start(
            b ->
                b.set(MAX_CONNECTIONS, 5)
                    .set(HANDSHAKE_TIMEOUT, timeout)
                    .set(REGISTRATION_TIMEOUT, timeout))) {
      AdmissionControl admission = HubState.admission(a.hub().server());
      long first = Timing.now();
      RawSocket plain1 = a.socket();
      RawSocket plain2 = a.socket();
      long upgradedConnected = Timing.now();
      RawSocket upgradedIdle = upgraded(a);
      await().until(() -> admission.open() == 5);

      RawSocket fourth = a.socket();
      assertThat(fourth.readReply().error(503))
          .isEqualTo("the hub holds its maximum number of connections");
      assertThat(fourth.closedByHub()).isTrue();
      assertThat(refused(a, "too_many_connections")).isEqualTo(1.0);

      assertThat(plain1.readReply().error(408)).contains("no complete request");
      assertThat(plain2.readReply().error(408)).contains("no complete request");
      Timing.assertAfterConfiguredTime("408s of the plain sockets", first, timeout);
      assertRegistrationTimeout(upgradedIdle, upgradedConnected, timeout);
      // Their slots come back within the same bound.
      await().atMost(Timing.remaining(first, timeout)).until(() -> admission.open() == 2);
      RawSocket later = upgraded(a);
      later.write(RawSocket.text(ClientFrames.registerDevice("later-dev")));
      assertThat(later.readFrame().message().error()).isNull();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  private static RawSocket upgraded(Arena a) {
    RawSocket s = a.socket();
    s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
    assertThat(s.readReply().status()).isEqualTo(101);
    return s;
  }

  /**
   * {@code s} gets a 1008 "registration timeout" close frame and then the end of the stream, no
   * sooner than {@code timeout} after {@code connected} (taken before the upgrade was sent: the
   * hub's timer starts once the upgrade is done) and no later than that plus the slack.
   */
  private static void assertRegistrationTimeout(RawSocket s, long connected, Duration timeout) {
    RawWsClient.Frame f = s.readFrame();
    while (f != null && f.opcode() == RawWsClient.PONG) {
      f = s.readFrame();
    }
    assertThat(f).as("a close frame").isNotNull();
    Timing.assertAfterConfiguredTime("registration-timeout close frame", connected, timeout);
    assertThat(f.opcode()).as("%s", f).isEqualTo(RawWsClient.CLOSE);
    assertThat(f.closeCode()).isEqualTo(CloseCodes.POLICY_VIOLATION);
    assertThat(f.closeReason()).isEqualTo("registration timeout");
    assertThat(s.closedByHub()).isTrue();
    Timing.assertAfterConfiguredTime("registration-timeout TCP close", connected, timeout);
  }

  private static double refused(Arena a, String reason) {
    List<PrometheusText.Sample> samples = PrometheusText.parse(a.hub().server().metrics().scrape());
    return PrometheusText.matching(samples, "hub_connections_refused_total", "reason", reason)
        .stream()
        .mapToDouble(PrometheusText.Sample::value)
        .sum();
  }

  /** Writes a little every 20 ms from another thread until closed or the hub hangs up. */
  private static final class Trickle implements AutoCloseable {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final AtomicBoolean stopped = new AtomicBoolean();

    private final AtomicInteger sent = new AtomicInteger();

    static Trickle start(RawSocket s, IntFunction<Byte> nth) {
      return frames(s, i -> new byte[] {nth.apply(i)});
    }

    static Trickle frames(RawSocket s, IntFunction<byte[]> nth) {
      Trickle t = new Trickle();
      AtomicInteger sent = t.sent;
      t.timer.scheduleAtFixedRate(
          () -> {
            if (!t.stopped.get() && !s.tryWrite(nth.apply(sent.get()))) {
              t.stopped.set(true);
            } else {
              sent.incrementAndGet();
            }
          },
          0,
          20,
          TimeUnit.MILLISECONDS);
      return t;
    }

    /** How many writes went out. */
    int sent() {
      return sent.get();
    }

    @Override
    public void close() {
      stopped.set(true);
      timer.shutdownNow();
      try {
        timer.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
