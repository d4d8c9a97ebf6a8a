package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubInternals;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * docs/PROTOCOL.md, "Disconnects", over real sockets: device gone, constellation gone, both at
 * once, and the one disconnect path that removes the registry entry.
 */
class DisconnectEndToEndTest {
  private static final Duration QUIET = Duration.ofMillis(300);

  /** How a client leaves. */
  enum Leave {
    /** Close handshake, as a well-behaved client ends. */
    CLEAN_CLOSE,
    /** TCP dropped without a close frame, as a crashed client or a lost network ends. */
    ABORT;

    void apply(WsClient c) {
      if (this == CLEAN_CLOSE) {
        c.close();
      } else {
        c.abort();
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Leave.class)
  void deviceGoneFailsEverySessionAndTellsEachOnlineOwnerOnce(Leave leave) {
    try (TestHub hub = TestHub.start();
        WsClient device = Clients.device(hub, "dev-1");
        WsClient c1 = Clients.constellation(hub, "galaxy-1");
        WsClient c2 = Clients.constellation(hub, "galaxy-2")) {
      Clients.startTask(c1, "galaxy-1", "dev-1", "s1");
      Clients.startTask(c2, "galaxy-2", "dev-1", "s2");
      Clients.startTask(c2, "galaxy-2", "dev-1", "s3");
      assertThat(Clients.takeTasks(device, 3)).containsExactlyInAnyOrder("s1", "s2", "s3");
      ClientRegistry registry = hub.server().registry();
      assertThat(registry.getDeviceSessions("dev-1")).containsExactlyInAnyOrder("s1", "s2", "s3");

      leave.apply(device);

      assertDeviceDisconnected(c1.next(), "s1");
      ServerMessage a = c2.next();
      ServerMessage b = c2.next();
      assertDeviceDisconnected(a, a.sessionId());
      assertDeviceDisconnected(b, b.sessionId());
      assertThat(List.of(a.sessionId(), b.sessionId())).containsExactlyInAnyOrder("s2", "s3");
      c1.expectNothing(QUIET);
      c2.expectNothing(QUIET);

      // The notifications come from the disconnect path, which removed the entry first.
      assertThat(registry.isOnline("dev-1")).isFalse();
      assertThat(registry.getDeviceSessions("dev-1")).isEmpty();
      assertThat(registry.isOnline("galaxy-1")).isTrue();
      assertThat(registry.isOnline("galaxy-2")).isTrue();
      SessionTable sessions = hub.server().sessions();
      for (String s : List.of("s1", "s2", "s3")) {
        Session session = sessions.get(s).orElseThrow();
        assertThat(session.state()).isEqualTo(SessionState.FAILED);
        assertThat(session.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
        assertThat(session.held()).isFalse();
      }
      assertThat(sessions.counts()).isEqualTo(new SessionCounts(0, 0, 3, 0, 0));
      Clients.assertNoMappingsAndConsistent(registry);
      assertThat(registry.listClients()).containsExactlyInAnyOrder("galaxy-1", "galaxy-2");
    }
  }

  @ParameterizedTest
  @EnumSource(Leave.class)
  void constellationGoneCancelsItsSessionsAndTellsTheDeviceOnce(Leave leave) {
    try (TestHub hub = TestHub.start();
        WsClient device = Clients.device(hub, "dev-1");
        WsClient other = Clients.device(hub, "dev-2");
        WsClient c = Clients.constellation(hub, "galaxy-1")) {
      Clients.startTask(c, "galaxy-1", "dev-1", "s1");
      Clients.startTask(c, "galaxy-1", "dev-1", "s2");
      Clients.startTask(c, "galaxy-1", "dev-2", "s3");
      assertThat(Clients.takeTasks(device, 2)).containsExactly("s1", "s2");
      assertThat(Clients.takeTasks(other, 1)).containsExactly("s3");

      leave.apply(c);

      ServerMessage a = device.next();
      ServerMessage b = device.next();
      assertConstellationDisconnected(a);
      assertConstellationDisconnected(b);
      assertThat(List.of(a.sessionId(), b.sessionId())).containsExactlyInAnyOrder("s1", "s2");
      assertConstellationDisconnected(other.next());
      device.expectNothing(QUIET);
      other.expectNothing(QUIET);

      ClientRegistry registry = hub.server().registry();
      SessionTable sessions = hub.server().sessions();
      assertThat(registry.isOnline("galaxy-1")).isFalse();
      for (String s : List.of("s1", "s2", "s3")) {
        Session session = sessions.get(s).orElseThrow();
        assertThat(session.state()).isEqualTo(SessionState.CANCELLED);
        assertThat(session.error()).isEqualTo(TaskRouter.CONSTELLATION_DISCONNECTED);
      }
      assertThat(sessions.counts().cancelled()).isEqualTo(3);
      assertThat(sessions.counts().running()).isZero();
      Clients.assertNoMappingsAndConsistent(registry);

      // The device finishing anyway changes nothing: the session has its one final state.
      device.send(ClientFrames.taskEnd("dev-1", "s1", "{\"late\":true}"));
      ServerMessage refused = device.next();
      assertThat(refused.type()).isEqualTo(ServerMessageType.ERROR);
      assertThat(refused.sessionId()).isEqualTo("s1");
      assertThat(refused.error()).contains("no running session");
      assertThat(sessions.get("s1").orElseThrow().state()).isEqualTo(SessionState.CANCELLED);
      assertThat(sessions.counts().completed()).isZero();
      assertThat(registry.isDeviceConnected("dev-1")).isTrue();
    }
  }

  @ParameterizedTest
  @EnumSource(Leave.class)
  void bothGoneAtOnceEndEachSessionOnceAndNotifyEachPartyAtMostOnce(Leave leave) throws Exception {
    int rounds = 10;
    try (TestHub hub = TestHub.start()) {
      ClientRegistry registry = hub.server().registry();
      SessionTable sessions = hub.server().sessions();
      for (int round = 0; round < rounds; round++) {
        String deviceId = "dev-" + round;
        String ownerId = "galaxy-" + round;
        List<String> ids = List.of(round + "-a", round + "-b", round + "-c");
        WsClient device = Clients.device(hub, deviceId);
        WsClient owner = Clients.constellation(hub, ownerId);
        for (String s : ids) {
          Clients.startTask(owner, ownerId, deviceId, s);
        }
        assertThat(Clients.takeTasks(device, ids.size())).containsExactlyElementsOf(ids);

        CyclicBarrier together = new CyclicBarrier(2);
        CompletableFuture.allOf(
                CompletableFuture.runAsync(() -> leaveTogether(together, leave, device)),
                CompletableFuture.runAsync(() -> leaveTogether(together, leave, owner)))
            .get(20, TimeUnit.SECONDS);
        await().until(() -> !registry.isOnline(deviceId) && !registry.isOnline(ownerId));

        Map<String, Integer> toDevice = countTaskEnds(Clients.drain(device));
        Map<String, Integer> toOwner = countTaskEnds(Clients.drain(owner));
        for (String s : ids) {
          assertThat(toOwner.getOrDefault(s, 0)).as("owner told about %s", s).isLessThan(2);
          assertThat(toDevice.getOrDefault(s, 0)).as("device told about %s", s).isLessThan(2);
        }
        List<String> notToldYet = new ArrayList<>(ids);
        notToldYet.removeAll(toOwner.keySet());
        if (leave == Leave.CLEAN_CLOSE) {
          // Nothing is lost on a clean close: whatever the owner did not get must be held.
          await()
              .untilAsserted(
                  () ->
                      assertThat(notToldYet)
                          .allMatch(s -> sessions.get(s).orElseThrow().held(), "held"));
        }

        // The owner comes back: outcomes it did not get are handed over, once.
        try (WsClient back = hub.connect()) {
          back.send(ClientFrames.registerConstellation(ownerId));
          Clients.assertRegistered(back.next());
          List<ServerMessage> redelivered = new ArrayList<>();
          if (leave == Leave.CLEAN_CLOSE) {
            for (int i = 0; i < notToldYet.size(); i++) {
              redelivered.add(back.next());
            }
            back.expectNothing(QUIET);
          } else {
            // A reset may swallow frames already written, so how many come back is open;
            // collect until nothing is held any more and the socket stays quiet.
            await()
                .during(QUIET)
                .atMost(Duration.ofSeconds(10))
                .until(() -> sessions.counts().held() == 0);
            redelivered.addAll(Clients.drain(back));
          }
          Map<String, Integer> again = countTaskEnds(redelivered);
          for (String s : ids) {
            Session session = sessions.get(s).orElseThrow();
            assertThat(session.state())
                .as("one final state for %s", s)
                .isIn(SessionState.FAILED, SessionState.CANCELLED);
            int total = toOwner.getOrDefault(s, 0) + again.getOrDefault(s, 0);
            if (leave == Leave.CLEAN_CLOSE) {
              assertThat(total).as("owner told about %s", s).isEqualTo(1);
            } else {
              assertThat(total).as("owner told about %s", s).isLessThan(2);
            }
          }
        }
        await().until(() -> !registry.isOnline(ownerId));
        SessionCounts counts = sessions.counts();
        assertThat(counts.running()).isZero();
        assertThat(counts.held()).isZero();
        assertThat(counts.completed() + counts.failed() + counts.cancelled())
            .as("each session ended exactly once")
            .isEqualTo(3L * (round + 1));
        Clients.assertNoMappingsAndConsistent(registry);
        assertThat(registry.listClients()).isEmpty();
      }
    }
  }

  /**
   * A client that sends its close frame and then never reads again: its channel cannot even write
   * the close echo. The hub must still drop it and run the disconnect path (here with the slow
   * consumer guard and the idle timer out of reach), or the id stays registered for ever.
   */
  @Test
  void aClientThatClosesAndStopsReadingIsStillDroppedAndCleanedUp() {
    try (TestHub hub =
            TestHub.start(
                b ->
                    b.set(SLOW_CONSUMER_TIMEOUT, Duration.ofMinutes(5))
                        .set(SLOW_CONSUMER_MAX_BYTES, 1L << 30));
        RawWsClient device = RawWsClient.connect(hub.wsUri(), 4096);
        WsClient owner = Clients.constellation(hub, "galaxy-1")) {
      device.sendText(ClientFrames.registerDevice("dev-mute"));
      Clients.assertRegistered(device.readMessage());
      ClientRegistry registry = hub.server().registry();
      ClientConnection conn = registry.getClient("dev-mute").orElseThrow();
      Channel channel = HubInternals.channel(conn);

      String big = ClientFrames.filler(256 * 1024);
      List<String> started = new ArrayList<>();
      while (channel.isWritable()) {
        assertThat(started).as("the hub never stopped being able to write").hasSizeLessThan(400);
        String s = "s" + started.size();
        Clients.startTask(owner, "galaxy-1", "dev-mute", s, big);
        started.add(s);
      }

      device.sendClose(1000);

      await()
          .atMost(Duration.ofSeconds(20))
          .untilAsserted(() -> assertThat(registry.isOnline("dev-mute")).isFalse());
      List<String> failed = new ArrayList<>();
      for (int i = 0; i < started.size(); i++) {
        ServerMessage m = owner.next();
        assertDeviceDisconnected(m, m.sessionId());
        failed.add(m.sessionId());
      }
      assertThat(failed).containsExactlyInAnyOrderElementsOf(started);
      owner.expectNothing(QUIET);
      assertThat(channel.isOpen()).isFalse();
      Clients.assertNoMappingsAndConsistent(registry);
    }
  }

  private static void leaveTogether(CyclicBarrier barrier, Leave leave, WsClient c) {
    try {
      barrier.await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    leave.apply(c);
  }

  private static Map<String, Integer> countTaskEnds(List<ServerMessage> frames) {
    Map<String, Integer> n = new HashMap<>();
    for (ServerMessage m : frames) {
      assertThat(m.type()).as("unexpected frame %s", m).isEqualTo(ServerMessageType.TASK_END);
      assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(m.error())
          .isIn(TaskRouter.DEVICE_DISCONNECTED, TaskRouter.CONSTELLATION_DISCONNECTED);
      n.merge(m.sessionId(), 1, Integer::sum);
    }
    return n;
  }

  private static void assertDeviceDisconnected(ServerMessage m, String sessionId) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(m.error()).isEqualTo("device_disconnected");
    assertThat(m.sessionId()).isEqualTo(sessionId);
    assertThat(m.responseId()).isNotBlank();
  }

  private static void assertConstellationDisconnected(ServerMessage m) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(m.error()).isEqualTo("constellation_disconnected");
    assertThat(m.sessionId()).isNotNull();
  }
}
