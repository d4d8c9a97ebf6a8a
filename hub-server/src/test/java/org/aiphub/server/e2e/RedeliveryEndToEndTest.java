package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.e2e.DisconnectEndToEndTest.Leave;
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
 * docs/PROTOCOL.md, "Held outcomes" (no data lost): an outcome whose owner cannot take it is held
 * and handed over right after the owner's next successful registration with the same id, and only
 * once.
 *
 * <p>When a constellation leaves, its running sessions are cancelled (the device is told {@code
 * constellation_disconnected}); that cancellation is the session's one outcome, so it is what the
 * owner is held and gets when it comes back: {@code task_end}, status {@code failed}, error {@code
 * constellation_disconnected}.
 */
class RedeliveryEndToEndTest {
  private static final Duration QUIET = Duration.ofMillis(300);

  @ParameterizedTest
  @EnumSource(Leave.class)
  void theCancellationOfALeavingOwnerIsDeliveredRightAfterItsNextRegistrationOnce(Leave leave) {
    try (TestHub hub = TestHub.start();
        WsClient device = Clients.device(hub, "dev-1")) {
      ClientRegistry registry = hub.server().registry();
      SessionTable sessions = hub.server().sessions();
      WsClient owner = Clients.constellation(hub, "galaxy-1");
      Clients.startTask(owner, "galaxy-1", "dev-1", "s1");
      Clients.startTask(owner, "galaxy-1", "dev-1", "s2");
      assertThat(Clients.takeTasks(device, 2)).containsExactly("s1", "s2");

      leave.apply(owner);

      for (int i = 0; i < 2; i++) {
        ServerMessage cancel = device.next();
        assertThat(cancel.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(cancel.error()).isEqualTo("constellation_disconnected");
      }
      await().until(() -> sessions.counts().held() == 2);
      assertThat(registry.isOnline("galaxy-1")).isFalse();

      // A failed registration under the owner's id is no registration: nothing is handed over.
      try (WsClient refused = hub.connect()) {
        refused.send(
            "{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"constellation\","
                + "\"client_id\":\"galaxy-1\",\"target_id\":\"no-such-device\"}");
        ServerMessage error = refused.next();
        assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
        assertThat(refused.awaitClose()).isEqualTo(1008);
        assertThat(Clients.drain(refused)).isEmpty();
      }
      assertThat(sessions.counts().held()).isEqualTo(2);

      try (WsClient back = hub.connect()) {
        back.send(ClientFrames.registerConstellation("galaxy-1"));
        Clients.assertRegistered(back.next()); // the registration reply comes first
        ServerMessage a = back.next();
        ServerMessage b = back.next();
        for (ServerMessage m : List.of(a, b)) {
          assertThat(m.type()).isEqualTo(ServerMessageType.TASK_END);
          assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
          assertThat(m.error()).isEqualTo("constellation_disconnected");
          assertThat(m.responseId()).isNotBlank();
        }
        assertThat(List.of(a.sessionId(), b.sessionId())).containsExactlyInAnyOrder("s1", "s2");
        back.expectNothing(QUIET);
        assertThat(sessions.counts().held()).isZero();
      }
      await().until(() -> !registry.isOnline("galaxy-1"));

      // Handed over once: the next registration finds nothing.
      try (WsClient again = hub.connect()) {
        again.send(ClientFrames.registerConstellation("galaxy-1"));
        Clients.assertRegistered(again.next());
        again.expectNothing(QUIET);

        // The device finishing late changes nothing for the owner.
        device.send(ClientFrames.taskEnd("dev-1", "s1", "{\"late\":true}"));
        assertThat(device.next().type()).isEqualTo(ServerMessageType.ERROR);
        again.expectNothing(QUIET);
      }
      for (String s : List.of("s1", "s2")) {
        Session session = sessions.get(s).orElseThrow();
        assertThat(session.state()).isEqualTo(SessionState.CANCELLED);
        assertThat(session.held()).isFalse();
      }
    }
  }

  /**
   * The race-free "owner offline" case: the owner has sent its close frame (the hub refuses every
   * write to it from then on) but has not gone yet, because it stopped reading and the hub cannot
   * even write its close echo. A device result that arrives now, and results queued for the owner
   * that never left the hub, must all be held, and handed over once when the owner is back.
   */
  @Test
  void resultsThatFindTheOwnerClosingAreHeldAndDeliveredOnceWhenItIsBack() {
    try (TestHub hub =
            TestHub.start(
                b ->
                    b.set(SLOW_CONSUMER_TIMEOUT, Duration.ofMinutes(5))
                        .set(SLOW_CONSUMER_MAX_BYTES, 1L << 30));
        WsClient device = Clients.device(hub, "dev-1");
        RawWsClient owner = RawWsClient.connect(hub.wsUri(), 4096)) {
      ClientRegistry registry = hub.server().registry();
      SessionTable sessions = hub.server().sessions();
      owner.sendText(ClientFrames.registerConstellation("galaxy-raw"));
      Clients.assertRegistered(owner.readMessage());
      ClientConnection conn = registry.getClient("galaxy-raw").orElseThrow();
      Channel channel = HubInternals.channel(conn);

      // Results pile up for an owner that does not read, until the hub cannot write to it.
      String blob = ClientFrames.filler(256 * 1024);
      List<String> ids = new ArrayList<>();
      while (channel.isWritable()) {
        assertThat(ids).as("the hub never stopped being able to write").hasSizeLessThan(400);
        String s = "r" + ids.size();
        runOne(owner, device, s);
        device.send(
            ClientFrames.taskEnd("dev-1", s, "{\"n\":\"" + s + "\",\"b\":\"" + blob + "\"}"));
        await().until(() -> !sessions.get(s).orElseThrow().isRunning());
        ids.add(s);
      }
      runOne(owner, device, "last");

      owner.sendClose(1000);
      // The hub gives a closing peer that does not read a few seconds before it drops it; the
      // result must arrive within them, so watch closely.
      await().pollInterval(Duration.ofMillis(2)).until(() -> HubInternals.isClosing(conn));
      device.send(ClientFrames.taskEnd("dev-1", "last", "{\"n\":\"last\"}"));
      await().until(() -> !sessions.get("last").orElseThrow().isRunning());
      Session last = sessions.get("last").orElseThrow();
      assertThat(last.state())
          .as("the result arrived while the owner was closing")
          .isEqualTo(SessionState.COMPLETED);
      await().until(() -> sessions.get("last").orElseThrow().held()); // for the closing owner

      // The hub drops the owner; what it had written before is still in the owner's socket.
      await().atMost(Duration.ofSeconds(20)).until(() -> !registry.isOnline("galaxy-raw"));
      Set<String> live = new LinkedHashSet<>();
      for (RawWsClient.Frame f : owner.readUntilEof()) {
        if (f.opcode() == RawWsClient.TEXT) {
          ServerMessage m = f.message();
          if (m.type() == ServerMessageType.TASK_END) {
            assertCompleted(m);
            assertThat(live.add(m.sessionId())).as("delivered twice: %s", m.sessionId()).isTrue();
          }
        }
      }
      Set<String> all = new LinkedHashSet<>(ids);
      all.add("last");
      Set<String> expected = new LinkedHashSet<>(all);
      expected.removeAll(live);
      // "last" met a closing owner; at least one result was still queued in the hub (it could not
      // write: the channel was unwritable) and failed when the hub dropped the owner.
      assertThat(expected).contains("last").hasSizeGreaterThan(1);
      await().until(() -> sessions.counts().held() == expected.size());

      try (WsClient back = hub.connect()) {
        back.send(ClientFrames.registerConstellation("galaxy-raw"));
        Clients.assertRegistered(back.next());
        Set<String> redelivered = new LinkedHashSet<>();
        for (int i = 0; i < expected.size(); i++) {
          ServerMessage m = back.next();
          assertCompleted(m);
          assertThat(redelivered.add(m.sessionId())).isTrue();
        }
        back.expectNothing(QUIET);
        assertThat(redelivered).containsExactlyInAnyOrderElementsOf(expected);
      }
      await().until(() -> !registry.isOnline("galaxy-raw"));
      try (WsClient again = hub.connect()) {
        again.send(ClientFrames.registerConstellation("galaxy-raw"));
        Clients.assertRegistered(again.next());
        again.expectNothing(QUIET);
      }
      // Its unregistering runs on the event loop after the close; the checks below want it done.
      await().until(() -> !registry.isOnline("galaxy-raw"));
      assertThat(sessions.counts().held()).isZero();
      assertThat(sessions.counts().completed()).isEqualTo(all.size());
      Clients.assertNoMappingsAndConsistent(registry);
    }
  }

  private static void runOne(RawWsClient owner, WsClient device, String sessionId) {
    owner.sendText(ClientFrames.task("galaxy-raw", "dev-1", sessionId, "do " + sessionId));
    ServerMessage task = device.next();
    assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
    assertThat(task.sessionId()).isEqualTo(sessionId);
  }

  private static void assertCompleted(ServerMessage m) {
    assertThat(m.type()).as("frame %s", m.sessionId()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(m.result()).isInstanceOf(Map.class);
    assertThat(((Map<?, ?>) m.result()).get("n")).isEqualTo(m.sessionId());
  }
}
