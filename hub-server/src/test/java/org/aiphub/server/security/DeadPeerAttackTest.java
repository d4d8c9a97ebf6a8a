package org.aiphub.server.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.aiphub.server.config.Settings.HANDSHAKE_TIMEOUT;
import static org.aiphub.server.config.Settings.IDLE_TIMEOUT;
import static org.aiphub.server.config.Settings.PING_TIMEOUT;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_HIGH;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_LOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.netty.channel.Channel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.SlowConsumerFlood;
import org.aiphub.server.testing.WsClient;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Attack 14: dead peers. A device that stops reading (a slow consumer) is closed once it stays
 * unwritable for the slow-consumer timeout; a peer that vanishes without a close (a half-open
 * socket: it stops answering pings) is closed with 4001 after the idle and ping timeouts. Either
 * way it is cleaned up: its sessions end, their owners (or devices) are told, all of it no sooner
 * than the configured times after the peer went quiet and no later than those plus {@link
 * Timing#SLACK}; and the innocents, who answer pings, stay through many idle periods. An HTTP
 * client that pipelines requests and never reads the answers is throttled (the hub stops reading
 * it, and holds the requests it already read) and cut off once it has pipelined more than the hub
 * holds, or stays unwritable for the slow-consumer timeout.
 */
class DeadPeerAttackTest {
  private static final Duration IDLE = Duration.ofMillis(500);
  private static final Duration PING = Duration.ofSeconds(1);
  private static final Duration SLOW = Duration.ofMillis(500);

  @Test
  void aDeviceThatStopsReadingIsClosedAsASlowConsumerAndItsSessionsFail() {
    try (LogCapture logs = LogCapture.attach(Level.INFO, "org.aiphub.clients");
        Arena a =
            Arena.start(
                b ->
                    b.set(SLOW_CONSUMER_TIMEOUT, SLOW)
                        .set(
                            IDLE_TIMEOUT,
                            Duration.ofMinutes(1)) // only the slow-consumer timer may act
                        .set(WRITE_BUFFER_LOW, 8 * 1024)
                        .set(WRITE_BUFFER_HIGH, 16 * 1024)
                        .set(SLOW_CONSUMER_MAX_BYTES, 1L << 30))) {
      WsClient owner = a.constellation("slow-owner");
      WsClient other = a.device("other-dev");
      RawWsClient slow = a.track(RawWsClient.connect(a.hub().wsUri(), 4096));
      slow.sendText(ClientFrames.registerDevice("slow-dev"));
      Clients.assertRegistered(slow.readMessage());
      // From now on the slow device reads nothing. Its timer starts later, once the flood below
      // has filled its socket, so the close comes at least SLOW after this.
      long stoppedReading = Timing.now();

      SlowConsumerFlood flood =
          SlowConsumerFlood.run(a.hub(), owner, "slow-owner", "slow-dev", other, "other-dev", 400);

      assertThat(a.registry().isOnline("slow-dev")).isFalse();
      assertThat(flood.accepted).isNotEmpty();
      for (String s : flood.accepted) {
        ServerMessage end = flood.ends.get(s);
        assertThat(end.status()).as(s).isEqualTo(TaskStatus.FAILED);
        assertThat(end.error()).as(s).isEqualTo("device_disconnected");
        assertThat(a.sessions().get(s).orElseThrow().state()).isEqualTo(SessionState.FAILED);
      }
      // The owner had every failure by then (read as they came, so no later than this).
      long ownerTold = flood.lastEndNanos;
      assertThat(Duration.ofNanos(ownerTold - stoppedReading))
          .as("sessions failed and owner told within %s plus %s", SLOW, Timing.SLACK)
          .isGreaterThanOrEqualTo(SLOW)
          .isLessThanOrEqualTo(SLOW.plus(Timing.SLACK));

      // The device, reading again, gets what was already in flight and then the end of the
      // stream. The 1008 "slow consumer" close frame cannot reach it: the hub closes at once
      // (waiting for a peer that does not read would be the very thing this defence avoids), and
      // the close frame is queued behind the megabytes of tasks the device never took, so it is
      // dropped with them. Should it ever get through, it must carry that code and reason;
      // otherwise the close reason is what the hub records: the slow-consumer counter and log line.
      List<RawWsClient.Frame> rest = slow.readUntilEof();
      Timing.assertAfterConfiguredTime("slow consumer's TCP close", stoppedReading, SLOW);
      for (RawWsClient.Frame f : rest) {
        if (f.opcode() == RawWsClient.CLOSE) {
          assertThat(f.closeCode()).isEqualTo(CloseCodes.POLICY_VIOLATION);
          assertThat(f.closeReason()).isEqualTo("slow consumer");
        } else {
          assertThat(f.opcode()).as("%s", f).isEqualTo(RawWsClient.TEXT);
          assertThat(f.message().type()).isEqualTo(ServerMessageType.TASK);
        }
      }
      assertThat(counter(a, "hub_slow_consumer_closes_total")).isEqualTo(1.0);
      assertThat(counter(a, "hub_idle_closes_total")).isZero();
      assertThat(logs.messages("org.aiphub.clients")).containsOnlyOnce("closed a slow consumer");
      flood.roundTrip(other, "other-dev", "after");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aDeviceThatVanishesWithoutACloseIsClosedAfterTheIdleAndPingTimeouts() {
    try (Arena a = Arena.start(b -> b.set(IDLE_TIMEOUT, IDLE).set(PING_TIMEOUT, PING))) {
      RawWsClient ghost = a.raw();
      // The ghost's last frame: from now on it sends nothing, not even a pong. The moment is taken
      // before the send, because the hub may read the frame (and start its idle timer) before
      // sendText returns here.
      long silent = Timing.now();
      ghost.sendText(ClientFrames.registerDevice("ghost-dev"));
      Clients.assertRegistered(ghost.readMessage());
      WsClient owner = a.constellation("ghost-owner");
      owner.send(Frames.task("ghost-owner", "ghost-dev", "ghost-1", "work"));
      assertThat(owner.next().sessionId()).isEqualTo("ghost-1");
      assertThat(ghost.readMessage().sessionId()).isEqualTo("ghost-1");

      assertThat(ghost.readFrame().opcode()).isEqualTo(RawWsClient.PING);
      RawWsClient.Frame close = ghost.readFrame();
      Timing.assertAfterConfiguredTime("ghost's close frame", silent, IDLE.plus(PING));
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.IDLE_TIMEOUT);
      assertThat(close.closeReason()).isEqualTo("idle timeout");
      assertThat(ghost.readUntilEof()).isEmpty();
      Timing.assertAfterConfiguredTime("ghost's TCP close", silent, IDLE.plus(PING));

      ServerMessage failed = owner.next();
      Timing.assertAfterConfiguredTime("owner told", silent, IDLE.plus(PING));
      assertThat(failed.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(failed.error()).isEqualTo("device_disconnected");
      assertThat(failed.sessionId()).isEqualTo("ghost-1");
      assertThat(a.sessions().get("ghost-1").orElseThrow().state()).isEqualTo(SessionState.FAILED);
      assertThat(a.registry().isOnline("ghost-dev")).isFalse();
      assertThat(a.registry().getConstellationSessions("ghost-owner")).isEmpty();
      assertThat(counter(a, "hub_idle_closes_total")).isEqualTo(1.0);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aConstellationThatVanishesWithoutACloseIsClosedAndItsDeviceTold() {
    try (Arena a = Arena.start(b -> b.set(IDLE_TIMEOUT, IDLE).set(PING_TIMEOUT, PING))) {
      WsClient worker = a.device("worker-dev");
      RawWsClient ghost = a.raw();
      ghost.sendText(ClientFrames.registerConstellation("ghost-galaxy"));
      Clients.assertRegistered(ghost.readMessage());
      long silent = Timing.now(); // before its last frame, which the hub may read at once
      ghost.sendText(Frames.task("ghost-galaxy", "worker-dev", "ghost-2", "work"));
      assertThat(ghost.readMessage().sessionId()).isEqualTo("ghost-2");
      assertThat(worker.next().sessionId()).isEqualTo("ghost-2");

      assertThat(ghost.readFrame().opcode()).isEqualTo(RawWsClient.PING);
      assertThat(ghost.readFrame().closeCode()).isEqualTo(CloseCodes.IDLE_TIMEOUT);
      Timing.assertAfterConfiguredTime("ghost's close frame", silent, IDLE.plus(PING));
      assertThat(ghost.readUntilEof()).isEmpty();
      Timing.assertAfterConfiguredTime("ghost's TCP close", silent, IDLE.plus(PING));

      ServerMessage cancel = worker.next();
      Timing.assertAfterConfiguredTime("device told", silent, IDLE.plus(PING));
      assertThat(cancel.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(cancel.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(cancel.error()).isEqualTo("constellation_disconnected");
      assertThat(cancel.sessionId()).isEqualTo("ghost-2");
      await()
          .atMost(Timing.remaining(silent, IDLE.plus(PING)))
          .until(() -> !a.registry().isOnline("ghost-galaxy"));
      assertThat(a.sessions().get("ghost-2").orElseThrow().state())
          .isEqualTo(SessionState.CANCELLED);
      assertThat(a.registry().getDeviceSessions("worker-dev")).isEmpty();
      // Idle periods came and went meanwhile; the innocents answered their pings and stayed.
      await()
          .during(IDLE.multipliedBy(3))
          .atMost(IDLE.multipliedBy(10))
          .until(
              () ->
                  a.registry().listClients().containsAll(List.of(Arena.DEVICE, Arena.OWNER))
                      && !a.device().isClosed()
                      && !a.owner().isClosed());
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void anHttpClientThatPipelinesRequestsAndNeverReadsIsThrottledAndClosed() throws Exception {
    try (Arena a = Arena.start(b -> b.set(HANDSHAKE_TIMEOUT, Duration.ofMillis(500)))) {
      AdmissionControl admission = HubState.admission(a.hub().server());
      RawSocket s = a.track(RawSocket.open(a.hub(), null, 4096));
      await().until(() -> admission.open() == 3);
      Channel ch = HubState.channel(a.hub().server(), s.localPort()).orElseThrow();
      byte[] request = RawSocket.get("/healthz", RawSocket.host(a.hub())).getBytes(UTF_8);
      byte[] batch = new byte[request.length * 1000];
      for (int i = 0; i < 1000; i++) {
        System.arraycopy(request, 0, batch, i * request.length, request.length);
      }
      // 200,000 requests (about 10 MB) sent as fast as the hub takes them; never a byte read.
      AtomicLong sent = new AtomicLong();
      Thread writer =
          new Thread(
              () -> {
                for (int i = 0; i < 200 && s.tryWrite(batch); i++) {
                  sent.addAndGet(batch.length);
                }
              },
              "pipelining-attacker");
      writer.setDaemon(true);
      writer.start();
      AtomicLong maxQueued = new AtomicLong();
      await()
          .pollInterval(Duration.ofMillis(10))
          .atMost(Duration.ofSeconds(20))
          .until(
              () -> {
                maxQueued.accumulateAndGet(HubState.pendingBytes(ch), Math::max);
                return !ch.isOpen();
              });
      // Its answers (four times the size of its requests) were not buffered without bound: the
      // hub stopped reading while they were queued (without that, some 40 MB pile up here).
      assertThat(maxQueued.get())
          .as("bytes queued for it, after %d bytes of requests", sent.get())
          .isLessThan(4L << 20);
      await().until(() -> admission.open() == 2);
      // Its next write fails (the hub reset the connection), which ends the attacker's loop. A
      // loaded machine may take a while to schedule it: the stack says where it hung if it did.
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> !writer.isAlive());
      } catch (ConditionTimeoutException e) {
        StringBuilder where = new StringBuilder();
        for (StackTraceElement f : writer.getStackTrace()) {
          where.append("\n  at ").append(f);
        }
        throw new AssertionError(
            "the attacker is still writing after " + sent.get() + " bytes" + where, e);
      }
      // Closed as a slow reader: it pipelined past the requests the hub holds for a client that
      // does not read (before that, it was left to the handshake deadline).
      assertThat(counter(a, "hub_slow_consumer_closes_total")).isEqualTo(1);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  private static double counter(Arena a, String name) {
    return PrometheusText.named(PrometheusText.parse(a.hub().server().metrics().scrape()), name)
        .stream()
        .mapToDouble(PrometheusText.Sample::value)
        .sum();
  }
}
