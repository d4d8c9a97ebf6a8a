package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.aiphub.core.aip.AipTimestamps;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.Result;
import org.aiphub.core.aip.ResultStatus;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.BindOutcome;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class TaskRouterTest {
  private static final Instant T0 = Instant.parse("2026-11-25T14:30:00Z");

  private final ManualClock clock = new ManualClock(T0);
  private final RecordingRouterEvents events = new RecordingRouterEvents();
  private ClientRegistry registry;
  private SessionTable sessions;
  private TaskRouter router;

  @BeforeEach
  void setUp() {
    hub(DuplicatePolicy.REJECT, 0);
  }

  /** A fresh hub: registry with {@code policy} and a default device task limit. */
  private void hub(DuplicatePolicy policy, int maxTasks) {
    registry =
        ClientRegistry.builder()
            .policy(policy)
            .defaultMaxConcurrentTasks(maxTasks)
            .clock(clock)
            .build();
    sessions = new SessionTable(1000, Duration.ofHours(1), clock);
    router = new TaskRouter(registry, sessions, clock, events);
  }

  // ------------------------------------------------------------------------------- messages

  private static ClientMessage registerDevice(String id) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(id)
        .metadata(
            Map.of(
                "platform",
                "linux",
                "system_info",
                Map.of("os", "ubuntu", "supported_features", List.of("cli"))))
        .build();
  }

  private static ClientMessage registerConstellation(String id, String target) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.CONSTELLATION)
        .clientId(id)
        .targetId(target)
        .build();
  }

  private static ClientMessage task(String from, String target, String sessionId, String request) {
    return ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
        .clientType(ClientType.CONSTELLATION)
        .clientId(from)
        .targetId(target)
        .sessionId(sessionId)
        .taskName("galaxy/" + sessionId)
        .request(request)
        .build();
  }

  private static ClientMessage.Builder taskEnd(String from, String sessionId, TaskStatus status) {
    return ClientMessage.builder(ClientMessageType.TASK_END, status)
        .clientType(ClientType.DEVICE)
        .clientId(from)
        .sessionId(sessionId);
  }

  private static ClientMessage.Builder msg(ClientMessageType type, ClientType clientType) {
    return ClientMessage.builder(type, TaskStatus.OK).clientType(clientType);
  }

  // -------------------------------------------------------------------------------- helpers

  /** A registered client: its connection and the identity bound to it. */
  private record Client(FakeConnection conn, Identity id) {
    void handle(TaskRouter router, ClientMessage m) {
      router.handle(conn, id, m, System.nanoTime());
    }
  }

  private Client register(FakeConnection conn, ClientMessage m) {
    Registration r = router.register(conn, m);
    assertThat(r)
        .as("registration of %s", m.clientId())
        .isInstanceOf(Registration.Registered.class);
    return new Client(conn, ((Registration.Registered) r).identity());
  }

  private Client device(String id) {
    Client c = register(new FakeConnection(id), registerDevice(id));
    c.conn().clear();
    return c;
  }

  private Client constellation(String id, String target) {
    Client c = register(new FakeConnection(id), registerConstellation(id, target));
    c.conn().clear();
    return c;
  }

  /** Starts a session from {@code c} on {@code d} and clears both connections. */
  private Session start(Client c, Client d, String sessionId) {
    c.handle(router, task(c.id().clientId(), d.id().clientId(), sessionId, "do " + sessionId));
    assertThat(c.conn().single().status())
        .as("task %s accepted", sessionId)
        .isEqualTo(TaskStatus.OK);
    c.conn().clear();
    d.conn().clear();
    return sessions.running(sessionId).orElseThrow();
  }

  private static void assertError(ServerMessage m, String text) {
    assertThat(m.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(m.error()).contains(text);
    assertThat(m.timestamp()).isEqualTo(AipTimestamps.format(clock0()));
    assertUuid(m.responseId());
  }

  /**
   * What a refused task that carried a session id gets: the error frame, then a {@code task_end}
   * {@code failed} for that id with the same reason, and nothing else (no result, no task name).
   *
   * @return the error frame
   */
  private static ServerMessage assertTaskRefused(
      List<ServerMessage> sent, String sessionId, String text) {
    assertThat(sent).as("the error then the task_end: %s", sent).hasSize(2);
    assertError(sent.get(0), text);
    ServerMessage end = sent.get(1);
    assertTaskEnd(end, sessionId, TaskStatus.FAILED, sent.get(0).error());
    assertThat(end.result()).isNull();
    assertThat(end.taskName()).isNull();
    assertThat(end.timestamp()).isEqualTo(AipTimestamps.format(clock0()));
    assertThat(end.responseId()).isNotEqualTo(sent.get(0).responseId());
    return sent.get(0);
  }

  private static Instant clock0() {
    return T0;
  }

  private static void assertUuid(String s) {
    assertThat(s).isNotNull();
    assertThat(UUID.fromString(s).toString()).isEqualTo(s);
    assertThat(UUID.fromString(s).version()).isEqualTo(4);
  }

  private static Map<Object, Object> asMap(Object o) {
    assertThat(o).isInstanceOf(Map.class);
    return new java.util.LinkedHashMap<>((Map<?, ?>) o);
  }

  private static void assertHeartbeatOk(ServerMessage m) {
    assertThat(m.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.error()).isNull();
    assertUuid(m.responseId());
  }

  private static void assertTaskEnd(
      ServerMessage m, String sessionId, TaskStatus status, String error) {
    assertThat(m.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(status);
    assertThat(m.sessionId()).isEqualTo(sessionId);
    assertThat(m.error()).isEqualTo(error);
    assertUuid(m.responseId());
  }

  // ---------------------------------------------------------------------------- registration

  @Nested
  class Register {
    @Test
    void aDeviceRegistersAndTheReplyIsAHeartbeatOk() {
      FakeConnection conn = new FakeConnection("d1");

      Registration r = router.register(conn, registerDevice("d1"));

      assertThat(r)
          .isEqualTo(new Registration.Registered(new Identity("d1", ClientType.DEVICE, null)));
      ServerMessage reply = conn.single();
      assertHeartbeatOk(reply);
      assertThat(reply.sessionId()).isNull();
      assertThat(reply.timestamp()).isEqualTo("2026-11-25T14:30:00.000000+00:00");
      var info = registry.getClientInfo("d1").orElseThrow();
      assertThat(info.connection()).isSameAs(conn);
      assertThat(info.platform()).isEqualTo("linux");
      assertThat(info.systemInfo()).containsEntry("os", "ubuntu");
      assertThat(events.lines()).containsExactly("registered d1 device");
      assertThat(conn.closes()).isEmpty();
    }

    @Test
    void aDeviceWithoutMetadataRegistersOnWindows() {
      FakeConnection conn = new FakeConnection("d1");

      register(
          conn,
          ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK).clientId("d1").build());

      assertThat(registry.getClientInfo("d1").orElseThrow().platform()).isEqualTo("windows");
      assertHeartbeatOk(conn.single());
    }

    @Test
    void aConstellationMayDeclareAConnectedDeviceAsTarget() {
      device("d1");
      FakeConnection conn = new FakeConnection("c1");

      Client c = register(conn, registerConstellation("c1", "d1"));

      assertThat(c.id()).isEqualTo(new Identity("c1", ClientType.CONSTELLATION, "d1"));
      assertHeartbeatOk(conn.single());
      assertThat(registry.getClientType("c1")).contains(ClientType.CONSTELLATION);
    }

    @Test
    void aConstellationWithoutTargetRegisters() {
      Client c = register(new FakeConnection("c1"), registerConstellation("c1", null));

      assertThat(c.id().targetId()).isNull();
    }

    @Test
    void aFirstMessageThatIsNotRegisterIsRefused() {
      FakeConnection conn = new FakeConnection("x");

      Registration r =
          router.register(
              conn, msg(ClientMessageType.HEARTBEAT, ClientType.DEVICE).clientId("d1").build());

      assertThat(r).isInstanceOf(Registration.Refused.class);
      Registration.Refused refused = (Registration.Refused) r;
      assertThat(refused.outcome()).isEqualTo("not_register");
      assertThat(refused.reason()).contains("must be a register message, got 'heartbeat'");
      assertError(conn.single(), refused.reason());
      assertThat(registry.isOnline("d1")).isFalse();
      assertThat(events.lines()).containsExactly("registrationRefused not_register");
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"has space", "quote'd", "new\nline", "semi;colon"})
    void aBadClientIdIsRefused(String id) {
      FakeConnection conn = new FakeConnection("x");

      Registration r = router.register(conn, registerDevice(id));

      assertThat(r).isInstanceOf(Registration.Refused.class);
      assertThat(((Registration.Refused) r).outcome()).isEqualTo("bad_client_id");
      assertError(conn.single(), "client_id");
      assertThat(registry.listClients()).isEmpty();
    }

    @Test
    void aTooLongClientIdIsRefused() {
      FakeConnection conn = new FakeConnection("x");

      Registration r = router.register(conn, registerDevice("d".repeat(257)));

      assertThat(((Registration.Refused) r).outcome()).isEqualTo("bad_client_id");
      assertThat(registry.listClients()).isEmpty();
    }

    @Test
    void aConstellationWhoseTargetIsNotAConnectedDeviceIsRefused() {
      constellation("c0", null);
      for (String target : List.of("nobody", "c0")) {
        FakeConnection conn = new FakeConnection("c1");

        Registration r = router.register(conn, registerConstellation("c1", target));

        assertThat(((Registration.Refused) r).outcome()).isEqualTo("bad_target");
        assertError(conn.single(), "target device '" + target + "' is not connected");
        assertThat(registry.isOnline("c1")).isFalse();
      }
    }

    @Test
    void aDeviceWithMalformedMetadataIsRefused() {
      FakeConnection a = new FakeConnection("a");
      Registration platform =
          router.register(
              a,
              ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
                  .clientId("d1")
                  .metadata(Map.of("platform", 7))
                  .build());
      FakeConnection b = new FakeConnection("b");
      Registration systemInfo =
          router.register(
              b,
              ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
                  .clientId("d1")
                  .metadata(Map.of("system_info", List.of("not", "an", "object")))
                  .build());

      assertThat(((Registration.Refused) platform).outcome()).isEqualTo("bad_metadata");
      assertError(a.single(), "metadata.platform must be a string");
      assertThat(((Registration.Refused) systemInfo).outcome()).isEqualTo("bad_metadata");
      assertError(b.single(), "metadata.system_info must be an object");
      assertThat(registry.isOnline("d1")).isFalse();
    }

    @Test
    void aDuplicateIdIsRefusedUnderRejectAndTheFirstStays() {
      Client first = device("d1");
      FakeConnection second = new FakeConnection("d1-again");

      Registration r = router.register(second, registerDevice("d1"));

      assertThat(((Registration.Refused) r).outcome()).isEqualTo("duplicate");
      assertError(second.single(), "already registered");
      assertThat(registry.getClient("d1")).containsSame(first.conn());
      assertThat(first.conn().closes()).isEmpty();
      assertThat(first.conn().sent()).isEmpty();
    }

    @Test
    void aTakeoverClosesTheDisplacedConnectionWith4000AndKeepsItsSessions() {
      hub(DuplicatePolicy.TAKEOVER, 0);
      Client oldDevice = device("d1");
      Client c = constellation("c1", null);
      start(c, oldDevice, "s1");
      FakeConnection fresh = new FakeConnection("d1-new");

      Client newDevice = register(fresh, registerDevice("d1"));

      assertHeartbeatOk(fresh.single());
      assertThat(oldDevice.conn().closes())
          .containsExactly(
              new FakeConnection.Close(
                  TaskRouter.CLOSE_TAKEN_OVER, "replaced by a newer connection"));
      assertThat(events.lines()).contains("takenOver d1 device");
      assertThat(registry.getClient("d1")).containsSame(fresh);
      assertThat(registry.getDeviceSessions("d1")).containsExactly("s1");

      // the displaced connection's cleanup does not remove its successor
      router.disconnected(oldDevice.conn(), oldDevice.id());
      assertThat(registry.getClient("d1")).containsSame(fresh);
      assertThat(sessions.running("s1")).isPresent();
      assertThat(events.lines()).noneMatch(l -> l.startsWith("departed"));

      // and the new connection ends the session it inherited
      newDevice.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      assertTaskEnd(c.conn().single(), "s1", TaskStatus.COMPLETED, null);
    }

    @Test
    void aTakeoverByAnotherClientTypeIsRefused() {
      hub(DuplicatePolicy.TAKEOVER, 0);
      Client d = device("x1");
      FakeConnection conn = new FakeConnection("c");

      Registration r = router.register(conn, registerConstellation("x1", null));

      assertThat(((Registration.Refused) r).outcome()).isEqualTo("duplicate");
      assertThat(registry.getClient("x1")).containsSame(d.conn());
      assertThat(d.conn().closes()).isEmpty();
    }
  }

  // ------------------------------------------------------------------------------ messages

  @Nested
  class Handle {
    @Test
    void aHeartbeatIsAnswered() {
      Client d = device("d1");

      d.handle(router, msg(ClientMessageType.HEARTBEAT, ClientType.DEVICE).clientId("d1").build());

      assertHeartbeatOk(d.conn().single());
    }

    @Test
    void aSecondRegisterIsRefusedAndChangesNothing() {
      Client d = device("d1");
      ClientMessage again =
          ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
              .clientId("d1")
              .metadata(Map.of("platform", "mac"))
              .build();

      d.handle(router, again);

      assertError(d.conn().single(), "already registered as 'd1'");
      assertThat(registry.getClientInfo("d1").orElseThrow().platform()).isEqualTo("linux");
      assertThat(registry.getClient("d1")).containsSame(d.conn());
      assertThat(events.lines()).contains("refused d1 second_register");
      assertThat(d.conn().closes()).isEmpty();
    }

    @Test
    void aTaskFromADeviceIsRefused() {
      Client d = device("d1");

      d.handle(
          router,
          msg(ClientMessageType.TASK, ClientType.DEVICE)
              .clientId("d1")
              .targetId("d1")
              .sessionId("s1")
              .request("x")
              .build());

      ServerMessage m = assertTaskRefused(d.conn().sent(), "s1", "devices cannot start tasks");
      assertThat(m.sessionId()).isEqualTo("s1");
      assertThat(sessions.get("s1")).isEmpty();
      assertThat(events.lines()).contains("refused d1 device_task");
    }

    @Test
    void commandResultsAreUnsupportedAndTheConnectionStaysOpen() {
      Client d = device("d1");

      d.handle(
          router, msg(ClientMessageType.COMMAND_RESULTS, ClientType.DEVICE).clientId("d1").build());

      assertError(d.conn().single(), "unsupported message type 'command_results'");
      assertThat(d.conn().closes()).isEmpty();
      assertThat(events.lines()).contains("refused d1 unsupported_type");
    }

    @Test
    void aTaskEndFromAConstellationIsRefused() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      c.handle(
          router,
          msg(ClientMessageType.TASK_END, ClientType.CONSTELLATION)
              .clientId("c1")
              .sessionId("s1")
              .build());

      assertError(c.conn().single(), "only the device running a session can end it");
      assertThat(sessions.running("s1")).isPresent();
      assertThat(d.conn().sent()).isEmpty();
      assertThat(events.lines()).contains("refused c1 not_executor");
    }

    @Test
    void aFrameWithAnotherClientIdIsRefusedAndChangesNothing() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      d.handle(router, taskEnd("d2", "s1", TaskStatus.COMPLETED).build());

      ServerMessage m = d.conn().single();
      assertError(m, "client_id 'd2' does not match the registered id 'd1'");
      assertThat(m.sessionId()).isEqualTo("s1");
      assertThat(sessions.running("s1")).isPresent();
      assertThat(c.conn().sent()).isEmpty();
      assertThat(events.lines()).contains("refused d1 identity_mismatch");
    }

    @Test
    void aTaskClaimingToComeFromADeviceOnAConstellationSocketIsRefused() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      ClientMessage m =
          ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
              .clientType(ClientType.DEVICE)
              .clientId("c1")
              .targetId("d1")
              .sessionId("s1")
              .request("x")
              .build();

      c.handle(router, m);

      assertTaskRefused(
          c.conn().sent(),
          "s1",
          "client_type 'device' does not match the registered type 'constellation'");
      assertThat(sessions.get("s1")).isEmpty();
      assertThat(d.conn().sent()).isEmpty();
    }

    @Test
    void aConstellationHeartbeatThatSaysDeviceIsAnswered() {
      device("d1");
      Client c = constellation("c1", "d1");

      c.handle(router, msg(ClientMessageType.HEARTBEAT, ClientType.DEVICE).clientId("c1").build());

      assertHeartbeatOk(c.conn().single());
      assertThat(events.lines()).noneMatch(l -> l.startsWith("refused"));
    }

    @Test
    void aFrameWithoutClientIdUsesTheBoundIdentity() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      d.handle(
          router,
          ClientMessage.builder(ClientMessageType.TASK_END, TaskStatus.COMPLETED)
              .sessionId("s1")
              .build());

      assertTaskEnd(c.conn().single(), "s1", TaskStatus.COMPLETED, null);
    }
  }

  // --------------------------------------------------------------------------------- tasks

  @Nested
  class StartTask {
    @Test
    void aTaskIsMappedBothWaysForwardedToTheDeviceAndAcked() {
      Client d = device("d1");
      Client c = constellation("c1", "d1");

      c.handle(router, task("c1", "d1", "t1@task-7", "Open Excel"));

      ServerMessage ack = c.conn().single();
      assertHeartbeatOk(ack);
      assertThat(ack.sessionId()).isEqualTo("t1@task-7");
      ServerMessage toDevice = d.conn().single();
      assertThat(toDevice.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(toDevice.status()).isEqualTo(TaskStatus.CONTINUE);
      assertThat(toDevice.userRequest()).isEqualTo("Open Excel");
      assertThat(toDevice.taskName()).isEqualTo("galaxy/t1@task-7");
      assertThat(toDevice.sessionId()).isEqualTo("t1@task-7");
      assertUuid(toDevice.responseId());
      Session s = sessions.running("t1@task-7").orElseThrow();
      assertThat(s.ownerId()).isEqualTo("c1");
      assertThat(s.executorId()).isEqualTo("d1");
      assertThat(s.request()).isEqualTo("Open Excel");
      assertThat(registry.getConstellationSessions("c1")).containsExactly("t1@task-7");
      assertThat(registry.getDeviceSessions("d1")).containsExactly("t1@task-7");
      assertThat(registry.getSessionOwner("t1@task-7")).contains("c1");
      assertThat(registry.getSessionExecutor("t1@task-7")).contains("d1");
      assertThat(events.lines()).contains("sessionStarted t1@task-7");
    }

    @Test
    void aTaskWithoutSessionIdGetsAFreshUuid() {
      Client d = device("d1");
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "d1", null, "hello"));

      String sessionId = c.conn().single().sessionId();
      assertUuid(sessionId);
      assertThat(d.conn().single().sessionId()).isEqualTo(sessionId);
      assertThat(sessions.running(sessionId)).isPresent();
    }

    @ParameterizedTest
    @NullAndEmptySource
    void aTaskWithoutTargetIsRefused(String target) {
      Client d = device("d1");
      Client c = constellation("c1", null);

      c.handle(router, task("c1", target, "s1", "x"));

      assertTaskRefused(c.conn().sent(), "s1", "a task needs a target_id");
      assertThat(events.lines()).contains("refused c1 bad_task");
      assertThat(sessions.get("s1")).isEmpty();
      assertThat(d.conn().sent()).isEmpty();
    }

    @Test
    void aConstellationMaySendTasksOnlyToItsDeclaredTarget() {
      device("d1");
      Client d2 = device("d2");
      Client c = constellation("c1", "d1");

      c.handle(router, task("c1", "d2", "s1", "x"));

      assertTaskRefused(
          c.conn().sent(), "s1", "registered for device 'd1' and may only send tasks to it");
      assertThat(events.lines()).contains("refused c1 out_of_scope");
      assertThat(d2.conn().sent()).isEmpty();
      assertThat(sessions.get("s1")).isEmpty();
    }

    @ParameterizedTest
    @NullAndEmptySource
    void aTaskWithoutRequestIsRefused(String request) {
      Client d = device("d1");
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "d1", "s1", request));

      assertTaskRefused(c.conn().sent(), "s1", "a task needs a non-empty request");
      assertThat(d.conn().sent()).isEmpty();
      assertThat(sessions.get("s1")).isEmpty();
    }

    @Test
    void aBadSessionIdIsRefused() {
      Client d = device("d1");
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "d1", "bad id", "x"));

      ServerMessage m =
          assertTaskRefused(
              c.conn().sent(), "bad id", "session_id 'bad id' holds a character outside");
      // The error names no session; the task_end carries the id exactly as sent, so that the
      // sender can match it to the task it waits for.
      assertThat(m.sessionId()).isNull();
      assertThat(events.lines()).contains("refused c1 bad_session_id");
      assertThat(d.conn().sent()).isEmpty();
    }

    @Test
    void aTaskForAnOfflineDeviceOrAConstellationIsRefused() {
      constellation("c0", null);
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "nobody", "s1", "x"));
      c.handle(router, task("c1", "c0", "s2", "x"));

      List<ServerMessage> sent = c.conn().sent();
      assertThat(sent).hasSize(4);
      assertTaskRefused(sent.subList(0, 2), "s1", "target device 'nobody' is not connected");
      assertThat(sent.get(0).sessionId()).isEqualTo("s1");
      assertTaskRefused(sent.subList(2, 4), "s2", "target device 'c0' is not connected");
      assertThat(events.lines()).filteredOn(l -> l.equals("refused c1 target_offline")).hasSize(2);
      assertThat(sessions.counts().running()).isZero();
    }

    @Test
    void aRunningSessionIdCannotBeReused() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      Client c2 = constellation("c2", null);
      Session s = start(c, d, "s1");

      c.handle(router, task("c1", "d1", "s1", "again"));
      c2.handle(router, task("c2", "d1", "s1", "mine"));

      // The owner's own running session goes on: its real task_end will come, so no failed one
      // now. The other client's refused task ends at once, without touching the running one.
      assertError(c.conn().single(), "session 's1' is already running");
      assertTaskRefused(
          c2.conn().sent(), "s1", "session_id 's1' is already used by another client");
      assertThat(d.conn().sent()).isEmpty();
      assertThat(sessions.running("s1")).containsSame(s);
      assertThat(events.lines())
          .contains("refused c1 session_conflict", "refused c2 session_conflict");
    }

    @Test
    void aDeviceAtItsTaskLimitIsNotContacted() {
      hub(DuplicatePolicy.REJECT, 1);
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      c.handle(router, task("c1", "d1", "s2", "x"));

      ServerMessage m =
          assertTaskRefused(
              c.conn().sent(),
              "s2",
              "device 'd1' already runs its limit of 1 concurrent tasks (max_concurrent_tasks)");
      assertThat(m.sessionId()).isEqualTo("s2");
      assertThat(d.conn().sent()).isEmpty();
      assertThat(sessions.get("s2")).as("the reservation was undone").isEmpty();
      assertThat(sessions.counts().running()).isEqualTo(1);
      assertThat(events.lines()).contains("refused c1 device_at_capacity");

      // once the first ends there is room again
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      c.conn().clear();
      c.handle(router, task("c1", "d1", "s2", "x"));
      assertHeartbeatOk(c.conn().single());
    }

    @Test
    void aSessionIdStillMappedInTheRegistryIsRefusedAndThePreviousRunRestored() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      Session previous = sessions.get("s1").orElseThrow();
      c.conn().clear();
      // a mapping the registry still holds (e.g. a cleanup not done yet)
      assertThat(registry.bindSession("s1", "c1", "d1")).isEqualTo(BindOutcome.BOUND);

      c.handle(router, task("c1", "d1", "s1", "again"));

      assertTaskRefused(c.conn().sent(), "s1", "session_id 's1' is already in use");
      assertThat(events.lines()).contains("refused c1 session_conflict");
      assertThat(sessions.get("s1")).containsSame(previous);
      assertThat(sessions.counts().running()).isZero();
      assertThat(d.conn().sent()).isEmpty();
    }

    @Test
    void aTaskFromAnOwnerNoLongerRegisteredIsRefused() {
      Client d = device("d1");
      FakeConnection ghost = new FakeConnection("ghost");

      router.handle(
          ghost,
          new Identity("ghost", ClientType.CONSTELLATION, null),
          task("ghost", "d1", "s1", "x"),
          System.nanoTime());

      assertTaskRefused(ghost.sent(), "s1", "this client is no longer registered");
      assertThat(events.lines()).contains("refused ghost owner_offline");
      assertThat(sessions.get("s1")).isEmpty();
      assertThat(d.conn().sent()).isEmpty();
    }
  }

  // --------------------------------------------------------------------------- refused tasks

  /**
   * A refused task that carried a session id ends at once for its sender: the error frame, then a
   * {@code task_end} {@code failed} with that id and the reason (Galaxy waits for the task_end).
   */
  @Nested
  class RefusedTasks {
    @Test
    void aRefusedTaskWithoutSessionIdGetsOnlyTheError() {
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "nobody", null, "x"));
      c.handle(router, task("c1", null, null, "x"));

      List<ServerMessage> sent = c.conn().sent();
      assertThat(sent).hasSize(2);
      assertError(sent.get(0), "target device 'nobody' is not connected");
      assertError(sent.get(1), "a task needs a target_id");
      assertThat(sent).noneMatch(m -> m.type() == ServerMessageType.TASK_END);
    }

    @Test
    void anEmptyOrOverlongSessionIdIsNotEchoedInATaskEnd() {
      device("d1");
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "d1", "", "x"));
      c.handle(router, task("c1", "d1", "x".repeat(ClientIds.MAX_LENGTH + 1), "x"));

      List<ServerMessage> sent = c.conn().sent();
      assertThat(sent).hasSize(2);
      assertError(sent.get(0), "session_id must be a non-empty string");
      assertError(sent.get(1), "session_id is longer than 256 characters");
    }

    @Test
    void aSessionIdOfTheLongestAllowedLengthIsEchoed() {
      Client c = constellation("c1", null);
      String longest = "y".repeat(ClientIds.MAX_LENGTH);

      c.handle(router, task("c1", "nobody", longest, "x"));

      assertTaskRefused(c.conn().sent(), longest, "is not connected");
    }

    @Test
    void anotherOwnersRunningSessionIsUntouchedByTheTaskEndOfARefusedTaskWithItsId() {
      Client d = device("d1");
      Client owner = constellation("c1", null);
      Client other = constellation("c2", null);
      Session running = start(owner, d, "s1");

      other.handle(router, task("c2", "d1", "s1", "mine"));

      assertTaskRefused(other.conn().sent(), "s1", "already used by another client");
      assertThat(owner.conn().sent()).isEmpty();
      assertThat(d.conn().sent()).isEmpty();
      assertThat(sessions.running("s1")).containsSame(running);
      assertThat(registry.getSessionOwner("s1")).contains("c1");
      assertThat(registry.getConstellationSessions("c2")).isEmpty();
      assertThat(sessions.counts()).isEqualTo(new SessionCounts(1, 0, 0, 0, 0));
      other.conn().clear();

      // the running session ends normally, for its owner only
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).result("done").build());
      ServerMessage end = owner.conn().single();
      assertTaskEnd(end, "s1", TaskStatus.COMPLETED, null);
      assertThat(end.result()).isEqualTo("done");
      assertThat(other.conn().sent()).isEmpty();
    }

    @Test
    void theOwnerResendingItsRunningSessionGetsOnlyTheErrorThenTheRealOutcome() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      c.handle(router, task("c1", "d1", "s1", "again"));

      assertError(c.conn().single(), "session 's1' is already running");
      assertThat(sessions.running("s1")).isPresent();
      c.conn().clear();
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      assertTaskEnd(c.conn().single(), "s1", TaskStatus.COMPLETED, null);
    }

    @Test
    void aDeviceSendingATaskWithTheIdOfASessionItRunsGetsOnlyTheError() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      d.handle(
          router,
          msg(ClientMessageType.TASK, ClientType.DEVICE)
              .clientId("d1")
              .targetId("d1")
              .sessionId("s1")
              .request("x")
              .build());

      assertError(d.conn().single(), "devices cannot start tasks");
      assertThat(sessions.running("s1")).isPresent();
      assertThat(c.conn().sent()).isEmpty();
    }

    @Test
    void aTaskWithAnotherClientIdEndsForTheSocketThatSentIt() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      Client victim = constellation("c2", null);
      Session running = start(victim, d, "s1");

      c.handle(router, task("c2", "d1", "s1", "as c2"));

      assertTaskRefused(c.conn().sent(), "s1", "client_id 'c2' does not match the registered id");
      assertThat(victim.conn().sent()).isEmpty();
      assertThat(sessions.running("s1")).containsSame(running);
      assertThat(events.lines()).contains("refused c1 identity_mismatch");
    }

    @Test
    void aTaskWhileTheHubShutsDownEnds() {
      device("d1");
      Client c = constellation("c1", null);
      router.beginShutdown();

      c.handle(router, task("c1", "d1", "s1", "x"));

      assertTaskRefused(c.conn().sent(), "s1", "the hub is shutting down");
      assertThat(events.lines()).contains("refused c1 shutting_down");
    }

    @Test
    void aTaskForADeviceThatCannotBeReachedEnds() {
      Client d = register(new FakeConnection("d1").reachable(false), registerDevice("d1"));
      Client c = constellation("c1", null);

      c.handle(router, task("c1", "d1", "s1", "x"));

      assertTaskRefused(c.conn().sent(), "s1", "cannot be reached");
      assertThat(d.conn().sent(ServerMessageType.TASK)).isEmpty();
      assertThat(events.lines()).contains("refused c1 target_unreachable");
    }

    @Test
    void aTaskOverTheConstellationsSessionLimitEnds() {
      registry = ClientRegistry.builder().maxSessionsPerOwner(1).clock(clock).build();
      sessions = new SessionTable(1000, Duration.ofHours(1), clock);
      router = new TaskRouter(registry, sessions, clock, events);
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      c.handle(router, task("c1", "d1", "s2", "x"));

      assertTaskRefused(c.conn().sent(), "s2", "max_sessions_per_constellation");
      assertThat(sessions.get("s2")).isEmpty();
      assertThat(events.lines()).contains("refused c1 owner_at_capacity");
    }

    @Test
    void otherRefusedFramesGetNoTaskEnd() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");

      c.handle(
          router,
          msg(ClientMessageType.TASK_END, ClientType.CONSTELLATION)
              .clientId("c1")
              .sessionId("s1")
              .build());
      d.handle(router, taskEnd("d1", "nope", TaskStatus.COMPLETED).build());

      assertError(c.conn().single(), "only the device running a session can end it");
      assertError(d.conn().single(), "no running session 'nope'");
    }
  }

  // ------------------------------------------------------------------------ session id reuse

  @Nested
  class SessionIdReuse {
    @Test
    void galaxysSecondDeviceReusesAFinishedIdFromAnotherConstellation() {
      // Galaxy: one task name per process, one constellation socket per device, session ids
      // <task_name>@<task id> with task ids that recur across requests.
      Client devA = device("devA");
      Client devB = device("devB");
      Client onA = constellation("tn@devA", "devA");
      Client onB = constellation("tn@devB", "devB");
      onA.handle(router, task("tn@devA", "devA", "tn@t1", "on the first device"));
      onA.conn().clear();
      devA.conn().clear();
      devA.handle(
          router,
          taskEnd("devA", "tn@t1", TaskStatus.COMPLETED).result(Map.of("from", "devA")).build());
      assertTaskEnd(onA.conn().single(), "tn@t1", TaskStatus.COMPLETED, null);
      onA.conn().clear();

      onB.handle(router, task("tn@devB", "devB", "tn@t1", "on the second device"));

      ServerMessage ack = onB.conn().single();
      assertHeartbeatOk(ack);
      assertThat(ack.sessionId()).isEqualTo("tn@t1");
      ServerMessage toDevice = devB.conn().single();
      assertThat(toDevice.userRequest()).isEqualTo("on the second device");
      assertThat(toDevice.sessionId()).isEqualTo("tn@t1");
      Session second = sessions.running("tn@t1").orElseThrow();
      assertThat(second.ownerId()).isEqualTo("tn@devB");
      assertThat(second.executorId()).isEqualTo("devB");
      assertThat(registry.getSessionOwner("tn@t1")).contains("tn@devB");
      onB.conn().clear();

      devB.handle(
          router,
          taskEnd("devB", "tn@t1", TaskStatus.COMPLETED).result(Map.of("from", "devB")).build());

      ServerMessage end = onB.conn().single();
      assertTaskEnd(end, "tn@t1", TaskStatus.COMPLETED, null);
      assertThat(end.result()).isEqualTo(Map.of("from", "devB"));
      assertThat(onA.conn().sent()).as("the first owner hears nothing of the second run").isEmpty();
      assertThat(devA.conn().sent()).isEmpty();
      List<Session> runs = sessions.runs("tn@t1", 10);
      assertThat(runs).extracting(Session::ownerId).containsExactly("tn@devB", "tn@devA");
      assertThat(runs)
          .extracting(Session::request)
          .containsExactly("on the second device", "on the first device");
      assertThat(runs)
          .extracting(Session::result)
          .containsExactly(Map.of("from", "devB"), Map.of("from", "devA"));
    }

    @Test
    void aFinishedSessionIdMayStillBeReusedByItsOwner() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      c.conn().clear();

      c.handle(router, task("c1", "d1", "s1", "again"));

      assertHeartbeatOk(c.conn().single());
      assertThat(d.conn().single().userRequest()).isEqualTo("again");
      assertThat(sessions.running("s1").orElseThrow().request()).isEqualTo("again");
      assertThat(sessions.runs("s1", 10)).hasSize(2);
    }

    @Test
    void aReusedIdNeverShowsTheNewOwnerThePreviousRun() {
      Client d = device("d1");
      Client c1 = constellation("c1", null);
      Client c2 = constellation("c2", null);
      start(c1, d, "s1");
      d.handle(
          router,
          taskEnd("d1", "s1", TaskStatus.COMPLETED).result(Map.of("secret", "of c1")).build());
      c1.conn().clear();

      c2.handle(router, task("c2", "d1", "s1", "mine"));
      assertHeartbeatOk(c2.conn().single());
      c2.conn().clear();
      assertThat(sessions.get("s1").orElseThrow().result()).isNull();
      d.handle(router, taskEnd("d1", "s1", TaskStatus.FAILED).error("c2's own failure").build());

      ServerMessage end = c2.conn().single();
      assertTaskEnd(end, "s1", TaskStatus.FAILED, "c2's own failure");
      assertThat(end.result()).isNull();
      assertThat(c1.conn().sent()).isEmpty();
    }

    @Test
    void anOutcomeHeldForAnOfflineOwnerRefusesEveryoneElseUntilItIsDelivered() {
      Client d = device("d1");
      Client c1 = constellation("c1", null);
      Client c2 = constellation("c2", null);
      start(c1, d, "s1");
      router.disconnected(c1.conn(), c1.id()); // cancelled, held for c1
      assertThat(sessions.counts().held()).isEqualTo(1);
      d.conn().clear();

      c2.handle(router, task("c2", "d1", "s1", "mine"));

      assertTaskRefused(
          c2.conn().sent(), "s1", "session_id 's1' is already used by another client");
      assertThat(c2.conn().sent().get(0).error()).doesNotContain("c1");
      assertThat(d.conn().sent()).isEmpty();
      assertThat(sessions.counts().held()).isEqualTo(1);
      assertThat(events.lines()).contains("refused c2 session_conflict");
      c2.conn().clear();

      // the owner comes back and gets its outcome: now anyone may use the id
      FakeConnection back = new FakeConnection("c1-back");
      register(back, registerConstellation("c1", null));
      assertTaskEnd(
          back.sent().get(1), "s1", TaskStatus.FAILED, TaskRouter.CONSTELLATION_DISCONNECTED);
      c2.handle(router, task("c2", "d1", "s1", "mine"));
      assertHeartbeatOk(c2.conn().single());
      assertThat(sessions.running("s1").orElseThrow().ownerId()).isEqualTo("c2");
    }

    @Test
    void anOutcomeHeldForItsOwnerIsNotReusableByItUntilDelivered() {
      Client d = device("d1");
      Client c1 = constellation("c1", null);
      start(c1, d, "s1");
      router.disconnected(c1.conn(), c1.id());
      // The owner is back on a connection that registered before the hold drained (the race
      // the rule is for): the held record still blocks the id for it.
      assertThat(sessions.hold(sessions.get("s1").orElseThrow())).isFalse(); // held already
      Client again = new Client(new FakeConnection("c1-raw"), c1.id());

      again.handle(router, task("c1", "d1", "s1", "again"));

      assertTaskRefused(again.conn().sent(), "s1", "has an outcome not yet delivered to its owner");
      assertThat(sessions.counts().held()).isEqualTo(1);
    }

    @Test
    void aLateDeliveryFailureNeverReplaysAnOldRunOnceTheIdMovedOn() {
      Client d = device("d1");
      Client c1 = constellation("c1", null);
      Client c2 = constellation("c2", null);
      start(c1, d, "s1");
      c1.conn().failLater();
      d.handle(
          router,
          taskEnd("d1", "s1", TaskStatus.COMPLETED).result(Map.of("secret", "of c1")).build());
      start(c2, d, "s1"); // the id is free: its run finished

      c1.conn().failPending(); // the first owner's task_end was lost after all

      assertThat(sessions.counts().held()).as("not held: the id has a newer run").isZero();
      router.disconnected(c1.conn(), c1.id());
      router.disconnected(c2.conn(), c2.id());
      FakeConnection c1Back = new FakeConnection("c1-back");
      register(c1Back, registerConstellation("c1", null));
      FakeConnection c2Back = new FakeConnection("c2-back");
      register(c2Back, registerConstellation("c2", null));
      assertThat(c1Back.sent()).hasSize(1); // the registration reply only
      assertThat(c2Back.sent()).hasSize(2);
      assertTaskEnd(
          c2Back.sent().get(1), "s1", TaskStatus.FAILED, TaskRouter.CONSTELLATION_DISCONNECTED);
      assertThat(c2Back.sent().get(1).result()).isNull();
      // the lost outcome is still in the history, under its own run
      assertThat(sessions.runs("s1", 10))
          .extracting(Session::result)
          .containsExactly(null, Map.of("secret", "of c1"));
    }
  }

  @Nested
  class EndTask {
    private Client d;
    private Client c;

    @BeforeEach
    void twoClientsAndASession() {
      d = device("d1");
      c = constellation("c1", "d1");
      start(c, d, "s1");
    }

    @Test
    void aCompletedTaskEndGoesToTheOwnerAndUnmapsTheSession() {
      d.handle(
          router, taskEnd("d1", "s1", TaskStatus.COMPLETED).result(Map.of("ok", true)).build());

      ServerMessage end = c.conn().single();
      assertTaskEnd(end, "s1", TaskStatus.COMPLETED, null);
      assertThat(end.result()).isEqualTo(Map.of("ok", true));
      assertThat(end.taskName()).isEqualTo("galaxy/s1");
      Session s = sessions.get("s1").orElseThrow();
      assertThat(s.state()).isEqualTo(SessionState.COMPLETED);
      assertThat(s.result()).isEqualTo(Map.of("ok", true));
      assertThat(registry.getSessionOwner("s1")).isEmpty();
      assertThat(registry.getConstellationSessions("c1")).isEmpty();
      assertThat(registry.getDeviceSessions("d1")).isEmpty();
      assertThat(d.conn().sent()).isEmpty();
      assertThat(events.lines()).contains("sessionFinished s1 completed");
      assertThat(sessions.counts()).isEqualTo(new SessionCounts(0, 1, 0, 0, 0));
    }

    @Test
    void okCountsAsCompletedAndErrorAsFailed() {
      start(c, d, "s2");
      d.handle(router, taskEnd("d1", "s1", TaskStatus.OK).build());
      d.handle(router, taskEnd("d1", "s2", TaskStatus.ERROR).error("boom").build());

      List<ServerMessage> ends = c.conn().sent();
      assertThat(ends).hasSize(2);
      assertTaskEnd(ends.get(0), "s1", TaskStatus.COMPLETED, null);
      assertTaskEnd(ends.get(1), "s2", TaskStatus.FAILED, "boom");
      assertThat(sessions.get("s2").orElseThrow().state()).isEqualTo(SessionState.FAILED);
    }

    @Test
    void aFailedTaskEndCarriesItsError() {
      d.handle(router, taskEnd("d1", "s1", TaskStatus.FAILED).error("excel crashed").build());

      assertTaskEnd(c.conn().single(), "s1", TaskStatus.FAILED, "excel crashed");
      assertThat(sessions.get("s1").orElseThrow().error()).isEqualTo("excel crashed");
    }

    @Test
    void aTaskEndThatIsNeitherCompletedNorFailedIsRefused() {
      d.handle(router, taskEnd("d1", "s1", TaskStatus.CONTINUE).build());

      assertError(d.conn().single(), "task_end status must be completed or failed, got 'continue'");
      assertThat(sessions.running("s1")).isPresent();
      assertThat(c.conn().sent()).isEmpty();
      assertThat(events.lines()).contains("refused d1 bad_task_end");
    }

    @Test
    void actionResultsAreForwardedAsTheResult() {
      Result r = new Result(ResultStatus.SUCCESS, null, Map.of("rows", 3), "excel", "call-1");

      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).actionResults(List.of(r)).build());

      Object result = c.conn().single().result();
      assertThat(result).isInstanceOf(List.class);
      List<?> list = (List<?>) result;
      assertThat(list).hasSize(1);
      assertThat(asMap(list.get(0)))
          .containsEntry("status", "success")
          .containsEntry("result", Map.of("rows", 3))
          .containsEntry("namespace", "excel")
          .containsEntry("call_id", "call-1")
          .containsKey("error");
    }

    @Test
    void theResultFieldWinsOverActionResults() {
      Result r = new Result(ResultStatus.FAILURE, "no", null, null, null);

      d.handle(
          router,
          taskEnd("d1", "s1", TaskStatus.COMPLETED)
              .result("direct")
              .actionResults(List.of(r))
              .build());

      assertThat(c.conn().single().result()).isEqualTo("direct");
    }

    @Test
    void aTaskEndForAnUnknownSessionOrWithoutOneIsRefused() {
      d.handle(router, taskEnd("d1", "nope", TaskStatus.COMPLETED).build());
      d.handle(router, taskEnd("d1", null, TaskStatus.COMPLETED).build());

      List<ServerMessage> sent = d.conn().sent();
      assertThat(sent).hasSize(2);
      assertError(sent.get(0), "no running session 'nope' on this device");
      assertError(sent.get(1), "this message needs a session_id");
      assertThat(c.conn().sent()).isEmpty();
      assertThat(sessions.running("s1")).isPresent();
    }

    @Test
    void onlyTheExecutorMayEndASession() {
      Client other = device("d2");

      other.handle(router, taskEnd("d2", "s1", TaskStatus.COMPLETED).build());

      assertError(other.conn().single(), "no running session 's1' on this device");
      assertThat(events.lines()).contains("refused d2 unknown_session");
      assertThat(sessions.running("s1")).isPresent();
      assertThat(c.conn().sent()).isEmpty();
    }

    @Test
    void aSecondTaskEndNotifiesNobody() {
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      c.conn().clear();

      d.handle(router, taskEnd("d1", "s1", TaskStatus.FAILED).build());

      assertError(d.conn().single(), "no running session 's1'");
      assertThat(c.conn().sent()).isEmpty();
      assertThat(sessions.get("s1").orElseThrow().state()).isEqualTo(SessionState.COMPLETED);
    }

    @Test
    void aDeviceErrorOnItsSessionFailsIt() {
      d.handle(
          router,
          msg(ClientMessageType.ERROR, ClientType.DEVICE)
              .clientId("d1")
              .sessionId("s1")
              .error("out of memory")
              .build());

      assertTaskEnd(c.conn().single(), "s1", TaskStatus.FAILED, "out of memory");
      assertThat(sessions.get("s1").orElseThrow().state()).isEqualTo(SessionState.FAILED);
      assertThat(registry.getDeviceSessions("d1")).isEmpty();
      assertThat(d.conn().sent()).isEmpty();
    }

    @Test
    void aDeviceErrorWithoutTextGetsADefaultReason() {
      d.handle(
          router,
          msg(ClientMessageType.ERROR, ClientType.DEVICE).clientId("d1").sessionId("s1").build());

      assertTaskEnd(c.conn().single(), "s1", TaskStatus.FAILED, "device reported an error");
    }

    @Test
    void informationalErrorsAreNotAnswered() {
      d.handle(
          router,
          msg(ClientMessageType.ERROR, ClientType.DEVICE).clientId("d1").error("x").build());
      c.handle(
          router,
          msg(ClientMessageType.ERROR, ClientType.CONSTELLATION)
              .clientId("c1")
              .sessionId("s1")
              .error("x")
              .build());

      assertThat(d.conn().sent()).isEmpty();
      assertThat(c.conn().sent()).isEmpty();
      assertThat(sessions.running("s1")).as("a constellation's error ends nothing").isPresent();
    }

    @Test
    void aDeviceErrorOnAnUnknownSessionIsRefused() {
      d.handle(
          router,
          msg(ClientMessageType.ERROR, ClientType.DEVICE).clientId("d1").sessionId("zz").build());

      assertError(d.conn().single(), "no running session 'zz' on this device");
      assertThat(sessions.running("s1")).isPresent();
    }
  }

  @Nested
  class DeviceInfo {
    private Client d;

    @BeforeEach
    void aDevice() {
      d = device("d1");
    }

    private ClientMessage request(String from, String target, String requestId) {
      return msg(ClientMessageType.DEVICE_INFO_REQUEST, ClientType.CONSTELLATION)
          .clientId(from)
          .targetId(target)
          .requestId(requestId)
          .build();
    }

    @Test
    void aConstellationGetsItsTargetsSystemInfoUnderItsRequestId() {
      Client c = constellation("c1", "d1");

      c.handle(router, request("c1", null, "req-1"));

      ServerMessage m = c.conn().single();
      assertThat(m.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
      assertThat(m.status()).isEqualTo(TaskStatus.OK);
      assertThat(m.responseId()).isEqualTo("req-1");
      assertThat(m.result()).isEqualTo(registry.getDeviceSystemInfo("d1").orElseThrow());
      assertThat(asMap(m.result())).containsEntry("os", "ubuntu");
    }

    @Test
    void anUnscopedConstellationNamesTheDeviceInTheRequest() {
      Client c = constellation("c1", null);

      c.handle(router, request("c1", "d1", null));

      ServerMessage m = c.conn().single();
      assertThat(m.status()).isEqualTo(TaskStatus.OK);
      assertUuid(m.responseId());
    }

    @Test
    void aRequestWithoutAnyTargetIsAnsweredWithAnError() {
      Client c = constellation("c1", null);

      c.handle(router, request("c1", null, "req-2"));

      ServerMessage m = c.conn().single();
      assertThat(m.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
      assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(m.error()).contains("needs a target_id");
      assertThat(m.responseId()).isEqualTo("req-2");
      assertThat(events.lines()).contains("refused c1 bad_info_request");
    }

    @Test
    void aScopedConstellationMayOnlyAskAboutItsTarget() {
      device("d2");
      Client c = constellation("c1", "d1");

      c.handle(router, request("c1", "d2", "req-3"));

      ServerMessage m = c.conn().single();
      assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(m.error()).contains("registered for device 'd1' and may only ask about it");
      assertThat(m.result()).isNull();
      assertThat(events.lines()).contains("refused c1 out_of_scope");
    }

    @Test
    void anUnknownDeviceOrAConstellationIsNotConnected() {
      Client c = constellation("c1", null);

      c.handle(router, request("c1", "ghost", "a"));
      c.handle(router, request("c1", "c1", "b"));

      List<ServerMessage> sent = c.conn().sent();
      assertThat(sent).extracting(ServerMessage::status).containsOnly(TaskStatus.ERROR);
      assertThat(sent.get(0).error()).isEqualTo("device 'ghost' is not connected");
      assertThat(sent.get(1).error()).isEqualTo("device 'c1' is not connected");
      assertThat(sent).extracting(ServerMessage::responseId).containsExactly("a", "b");
    }

    @Test
    void devicesMayNotRequestDeviceInfo() {
      d.handle(
          router,
          msg(ClientMessageType.DEVICE_INFO_REQUEST, ClientType.DEVICE)
              .clientId("d1")
              .targetId("d1")
              .build());

      assertError(d.conn().single(), "only constellations may request device info");
      assertThat(events.lines()).contains("refused d1 device_info_by_device");
    }

    @Test
    void aDeviceInfoResponseRefreshesTheCache() {
      d.handle(
          router,
          msg(ClientMessageType.DEVICE_INFO_RESPONSE, ClientType.DEVICE)
              .clientId("d1")
              .metadata(Map.of("system_info", Map.of("os", "fedora")))
              .build());

      assertThat(d.conn().sent()).isEmpty();
      assertThat(registry.getDeviceSystemInfo("d1").orElseThrow()).containsEntry("os", "fedora");
    }

    @Test
    void aDeviceInfoResponseWithoutSystemInfoIsRefused() {
      d.handle(
          router,
          msg(ClientMessageType.DEVICE_INFO_RESPONSE, ClientType.DEVICE)
              .clientId("d1")
              .metadata(Map.of("system_info", "text"))
              .build());

      assertError(d.conn().single(), "needs metadata.system_info as an object");
      assertThat(registry.getDeviceSystemInfo("d1").orElseThrow()).containsEntry("os", "ubuntu");
      assertThat(events.lines()).contains("refused d1 bad_device_info");
    }

    @Test
    void constellationsMayNotReportDeviceInfo() {
      Client c = constellation("c1", null);

      c.handle(
          router,
          msg(ClientMessageType.DEVICE_INFO_RESPONSE, ClientType.CONSTELLATION)
              .clientId("c1")
              .metadata(Map.of("system_info", Map.of()))
              .build());

      assertError(c.conn().single(), "only devices report device info");
      assertThat(events.lines()).contains("refused c1 info_by_constellation");
    }
  }

  // ----------------------------------------------------------------------------- departures

  @Nested
  class Departures {
    @Test
    void aDeviceLeavingFailsItsSessionsAndTellsEachOwnerOnce() {
      Client d = device("d1");
      Client c1 = constellation("c1", null);
      Client c2 = constellation("c2", null);
      start(c1, d, "a");
      start(c2, d, "b");

      router.disconnected(d.conn(), d.id());

      assertTaskEnd(c1.conn().single(), "a", TaskStatus.FAILED, TaskRouter.DEVICE_DISCONNECTED);
      assertTaskEnd(c2.conn().single(), "b", TaskStatus.FAILED, TaskRouter.DEVICE_DISCONNECTED);
      assertThat(sessions.get("a").orElseThrow().state()).isEqualTo(SessionState.FAILED);
      assertThat(registry.isOnline("d1")).isFalse();
      assertThat(registry.getConstellationSessions("c1")).isEmpty();
      assertThat(registry.getSessionOwner("a")).isEmpty();
      assertThat(events.lines()).contains("departed d1 2");

      router.disconnected(d.conn(), d.id());
      assertThat(c1.conn().sent()).hasSize(1);
      assertThat(events.lines()).filteredOn(l -> l.startsWith("departed")).hasSize(1);
    }

    @Test
    void aConstellationLeavingCancelsItsSessionsAndTellsTheDeviceOnce() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "a");
      start(c, d, "b");

      router.disconnected(c.conn(), c.id());

      List<ServerMessage> toDevice = d.conn().sent();
      assertThat(toDevice).hasSize(2);
      assertTaskEnd(toDevice.get(0), "a", TaskStatus.FAILED, TaskRouter.CONSTELLATION_DISCONNECTED);
      assertTaskEnd(toDevice.get(1), "b", TaskStatus.FAILED, TaskRouter.CONSTELLATION_DISCONNECTED);
      assertThat(sessions.get("a").orElseThrow().state()).isEqualTo(SessionState.CANCELLED);
      assertThat(registry.getDeviceSessions("d1")).isEmpty();
      assertThat(registry.isOnline("c1")).isFalse();
      assertThat(events.lines()).contains("departed c1 2");

      // the device's late task_end ends nothing and reaches nobody
      d.conn().clear();
      d.handle(router, taskEnd("d1", "a", TaskStatus.COMPLETED).build());
      assertError(d.conn().single(), "no running session 'a'");
      assertThat(sessions.counts().cancelled()).isEqualTo(2);
      assertThat(sessions.counts().completed()).isZero();
    }

    @Test
    void aMappedSessionThatIsNoLongerRunningIsSkippedOnDeparture() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "live");
      // a mapping whose session already ended in the table (its cleanup not done yet)
      assertThat(registry.bindSession("stale", "c1", "d1")).isEqualTo(BindOutcome.BOUND);

      router.disconnected(d.conn(), d.id());

      assertThat(c.conn().sent()).extracting(ServerMessage::sessionId).containsExactly("live");
      assertThat(sessions.get("stale")).isEmpty();
      assertThat(events.lines()).contains("departed d1 1");
    }

    @Test
    void aClientThatWasNeverRegisteredDepartsSilently() {
      FakeConnection conn = new FakeConnection("x");

      router.disconnected(conn, new Identity("x", ClientType.DEVICE, null));

      assertThat(events.lines()).isEmpty();
    }

    @Test
    void cancelIsIdempotentAndNotifiesEachPartyOnce() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      Session s = start(c, d, "s1");

      assertThat(router.cancel(s, "stopped by operator")).isPresent();
      assertThat(router.cancel(s, "again")).isEmpty();
      assertThat(router.cancel(sessions.get("s1").orElseThrow(), "again")).isEmpty();

      assertTaskEnd(d.conn().single(), "s1", TaskStatus.FAILED, "stopped by operator");
      assertTaskEnd(c.conn().single(), "s1", TaskStatus.FAILED, "stopped by operator");
      assertThat(registry.getSessionOwner("s1")).isEmpty();
      assertThat(events.finished()).hasSize(1);
    }

    @Test
    void cancelAfterCompletionDoesNothing() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      Session s = start(c, d, "s1");
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      c.conn().clear();

      assertThat(router.cancel(s, "late")).isEmpty();

      assertThat(d.conn().sent()).isEmpty();
      assertThat(c.conn().sent()).isEmpty();
    }

    @Test
    void aHubOwnedSessionEndsWithoutNotifyingOrHoldingAnything() throws Exception {
      Client d = device("d1");
      sessions.reserve("h1", null, "d1", "hub-task", "x");
      assertThat(registry.bindSession("h1", null, "d1")).isEqualTo(BindOutcome.BOUND);

      d.handle(router, taskEnd("d1", "h1", TaskStatus.COMPLETED).result(1).build());

      assertThat(d.conn().sent()).isEmpty();
      assertThat(sessions.get("h1").orElseThrow().state()).isEqualTo(SessionState.COMPLETED);
      assertThat(sessions.counts().held()).isZero();
      assertThat(registry.getDeviceSessions("d1")).isEmpty();
    }
  }

  // -------------------------------------------------------------------------- redelivery

  @Nested
  class Redelivery {
    @Test
    void anOutcomeForAnOfflineOwnerIsHeldAndDeliveredAfterTheRegistrationReply() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "a");
      clock.advance(Duration.ofSeconds(1));
      start(c, d, "b");
      router.disconnected(c.conn(), c.id()); // both cancelled while c1 is gone
      assertThat(sessions.counts().held()).isEqualTo(2);
      FakeConnection back = new FakeConnection("c1-back");

      register(back, registerConstellation("c1", null));

      List<ServerMessage> sent = back.sent();
      assertThat(sent).hasSize(3);
      assertHeartbeatOk(sent.get(0));
      assertThat(sent.get(0).sessionId()).isNull();
      assertTaskEnd(sent.get(1), "a", TaskStatus.FAILED, TaskRouter.CONSTELLATION_DISCONNECTED);
      assertTaskEnd(sent.get(2), "b", TaskStatus.FAILED, TaskRouter.CONSTELLATION_DISCONNECTED);
      assertThat(sessions.counts().held()).isZero();

      // handed out once
      router.disconnected(back, new Identity("c1", ClientType.CONSTELLATION, null));
      FakeConnection again = new FakeConnection("c1-again");
      register(again, registerConstellation("c1", null));
      assertThat(again.sent()).hasSize(1);
    }

    @Test
    void heldOutcomesGoOnlyToTheirOwner() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "a");
      router.disconnected(c.conn(), c.id());

      Client other = register(new FakeConnection("c2"), registerConstellation("c2", null));
      Client sameIdDevice = register(new FakeConnection("x"), registerDevice("c1"));

      assertThat(other.conn().sent()).hasSize(1);
      assertThat(sameIdDevice.conn().sent()).hasSize(1);
      assertThat(sessions.counts().held()).isEqualTo(1);
    }

    @Test
    void aFailedDeliveryIsHeldNotRetriedOnTheSameConnectionAndDrainedByTheNextOne() {
      hub(DuplicatePolicy.TAKEOVER, 0);
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");
      c.conn().failDeliveries(true);

      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).result("r").build());

      assertThat(c.conn().deliveryAttempts()).as("no retry loop on the failed one").isEqualTo(1);
      assertThat(c.conn().failedDeliveries()).hasSize(1);
      assertThat(c.conn().sent()).isEmpty();
      assertThat(sessions.counts().held()).isEqualTo(1);
      assertThat(sessions.get("s1").orElseThrow().held()).isTrue();

      FakeConnection fresh = new FakeConnection("c1-new");
      register(fresh, registerConstellation("c1", null));

      List<ServerMessage> sent = fresh.sent();
      assertThat(sent).hasSize(2);
      assertHeartbeatOk(sent.get(0));
      assertTaskEnd(sent.get(1), "s1", TaskStatus.COMPLETED, null);
      assertThat(sent.get(1).result()).isEqualTo("r");
      assertThat(sessions.counts().held()).isZero();
      assertThat(c.conn().deliveryAttempts()).isEqualTo(1);
      assertThat(c.conn().closes()).extracting(FakeConnection.Close::code).containsExactly(4000);
    }

    @Test
    void aLateDeliveryFailureIsHandedAtOnceToTheOwnersNewConnection() {
      hub(DuplicatePolicy.TAKEOVER, 0);
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");
      c.conn().failLater();
      d.handle(router, taskEnd("d1", "s1", TaskStatus.FAILED).error("e").build());
      FakeConnection fresh = new FakeConnection("c1-new");
      register(fresh, registerConstellation("c1", null));
      assertThat(fresh.sent()).hasSize(1); // nothing was held yet

      c.conn().failPending(); // the write to the old connection fails after the takeover

      List<ServerMessage> sent = fresh.sent();
      assertThat(sent).hasSize(2);
      assertTaskEnd(sent.get(1), "s1", TaskStatus.FAILED, "e");
      assertThat(sessions.counts().held()).isZero();
      assertThat(c.conn().deliveryAttempts()).isEqualTo(1);
    }

    @Test
    void aDrainThatFailsAgainIsHeldAgainAndNotRetriedOnThatConnection() {
      hub(DuplicatePolicy.TAKEOVER, 0);
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");
      c.conn().failDeliveries(true);
      d.handle(router, taskEnd("d1", "s1", TaskStatus.COMPLETED).build());
      FakeConnection second = new FakeConnection("c1-2").failDeliveries(true);

      register(second, registerConstellation("c1", null));

      assertThat(second.deliveryAttempts()).isEqualTo(1);
      assertThat(second.sent()).hasSize(1); // the registration reply only
      assertThat(sessions.counts().held()).isEqualTo(1);

      FakeConnection third = new FakeConnection("c1-3");
      register(third, registerConstellation("c1", null));
      assertThat(third.sent(ServerMessageType.TASK_END)).hasSize(1);
      assertThat(sessions.counts().held()).isZero();
    }

    @Test
    void aDeviceDisconnectWhileTheOwnersDeliveryFailsIsHeldForTheOwner() {
      Client d = device("d1");
      Client c = constellation("c1", null);
      start(c, d, "s1");
      c.conn().failDeliveries(true);

      router.disconnected(d.conn(), d.id());
      router.disconnected(c.conn(), c.id());
      FakeConnection back = new FakeConnection("c1-back");
      register(back, registerConstellation("c1", null));

      List<ServerMessage> ends = back.sent(ServerMessageType.TASK_END);
      assertThat(ends).hasSize(1);
      assertTaskEnd(ends.get(0), "s1", TaskStatus.FAILED, TaskRouter.DEVICE_DISCONNECTED);
    }
  }

  // --------------------------------------------------------------------------- HTTP dispatch

  @Nested
  class Dispatch {
    private DispatchException.Reason refusal(String deviceId) {
      long running = sessions.counts().running();
      try {
        router.dispatch(deviceId, "do it", "t1");
      } catch (DispatchException e) {
        assertThat(sessions.counts().running()).isEqualTo(running);
        return e.reason();
      }
      throw new AssertionError("dispatch to " + deviceId + " was not refused");
    }

    @Test
    void aDispatchIsRefusedWithAReasonThatNamesItsHttpStatus() {
      hub(DuplicatePolicy.REJECT, 1);
      Client d = device("d1");
      constellation("c1", null);

      assertThat(refusal("nobody")).isEqualTo(DispatchException.Reason.DEVICE_NOT_FOUND);
      assertThat(refusal("c1")).isEqualTo(DispatchException.Reason.DEVICE_NOT_FOUND);
      assertThat(DispatchException.Reason.DEVICE_NOT_FOUND.httpStatus()).isEqualTo(404);

      start(constellation("c2", null), d, "s1");
      assertThat(refusal("d1")).isEqualTo(DispatchException.Reason.DEVICE_BUSY);
      assertThat(DispatchException.Reason.DEVICE_BUSY.httpStatus()).isEqualTo(429);
    }

    @Test
    void aDispatchWhileTheHubShutsDownIsUnavailableNotBusy() throws Exception {
      Client d = device("d1");
      router.beginShutdown();

      assertThat(refusal("d1")).isEqualTo(DispatchException.Reason.UNAVAILABLE);
      assertThat(DispatchException.Reason.UNAVAILABLE.httpStatus()).isEqualTo(503);
      assertThat(d.conn().sent()).isEmpty();
    }
  }
}
