package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.e2e.AipHarness.QUIET;
import static org.aiphub.server.e2e.AipHarness.assertAlive;
import static org.aiphub.server.e2e.AipHarness.assertError;
import static org.aiphub.server.e2e.AipHarness.assertRegistrationOk;
import static org.aiphub.server.e2e.AipHarness.assertTaskRefused;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every row of docs/PROTOCOL.md, "Messages the hub handles", except device info (see {@link
 * AipDeviceInfoEndToEndTest}): heartbeats, the task relay, task_end, device errors, session id
 * reuse (more in {@link SessionReuseEndToEndTest}), the device task limit, and the types the hub
 * does not handle.
 */
class AipTableEndToEndTest {
  private static final String DEVICE = "device_windows_001";
  private static final String CONSTELLATION = "weekly_report@device_windows_001";
  private static final String SESSION = "weekly_report@task_3";

  private AipHarness h;

  /** Whether clients send binary frames (Galaxy's way) instead of text frames. */
  boolean binaryFrames() {
    return false;
  }

  private AipHarness hub() {
    if (h == null) {
      h = AipHarness.start().binaryFrames(binaryFrames());
    }
    return h;
  }

  private AipHarness hub(UnaryOperator<HubConfig.Builder> tweak) {
    h = AipHarness.start(tweak).binaryFrames(binaryFrames());
    return h;
  }

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  /** The fixture device and constellation, registered with the fixture frames. */
  private WsClient[] fixturePair() {
    WsClient device = hub().registered(Fixtures.text("client-register-device.json"));
    WsClient constellation = hub().registered(Fixtures.text("client-register-constellation.json"));
    return new WsClient[] {device, constellation};
  }

  /** The fixture pair with the fixture task running on the device. */
  private WsClient[] fixtureTaskRunning() {
    WsClient[] pair = fixturePair();
    pair[1].send(Fixtures.text("client-task-constellation.json"));
    assertThat(pair[1].next().sessionId()).isEqualTo(SESSION);
    assertThat(pair[0].next().sessionId()).isEqualTo(SESSION);
    return pair;
  }

  private void assertRunning(String sessionId, String owner, String device) {
    Session s = hub().sessions().running(sessionId).orElseThrow();
    assertThat(s.ownerId()).isEqualTo(owner);
    assertThat(s.executorId()).isEqualTo(device);
    assertThat(hub().registry().getDeviceSessions(device)).contains(sessionId);
    assertThat(hub().registry().getConstellationSessions(owner)).contains(sessionId);
    assertThat(hub().registry().getSessionOwner(sessionId)).contains(owner);
    assertThat(hub().registry().getSessionExecutor(sessionId)).contains(device);
  }

  private void assertUnmapped(String sessionId, String owner, String device) {
    assertThat(hub().sessions().running(sessionId)).isEmpty();
    assertThat(hub().registry().getDeviceSessions(device)).doesNotContain(sessionId);
    assertThat(hub().registry().getConstellationSessions(owner)).doesNotContain(sessionId);
    assertThat(hub().registry().getSessionOwner(sessionId)).isEmpty();
    assertThat(hub().registry().getSessionExecutor(sessionId)).isEmpty();
  }

  private void assertNoSessions() {
    assertThat(hub().sessions().counts().running()).isZero();
    assertThat(hub().registry().getStats().runningSessions()).isZero();
  }

  // ----------------------------------------------------------------------------- heartbeat

  @Test
  void deviceHeartbeatIsAcked() {
    WsClient device = hub().registered(Fixtures.text("client-register-device.json"));
    device.send(Fixtures.text("client-heartbeat.json"));
    JsonNode ack = AipFrames.tree(device.nextText());
    assertThat(ack.get("type").asText()).isEqualTo("heartbeat");
    assertThat(ack.get("status").asText()).isEqualTo("ok");
    assertThat(UUID.fromString(ack.get("response_id").asText())).isNotNull();
    assertThat(ack.hasNonNull("error")).isFalse();
  }

  @Test
  void galaxyConstellationHeartbeatSayingDeviceIsAnswered() {
    WsClient constellation = fixturePair()[1];
    constellation.send(Fixtures.text("client-heartbeat-constellation.json"));
    assertRegistrationOk(constellation.next());
    assertThat(hub().registry().getClientType(CONSTELLATION))
        .hasValueSatisfying(t -> assertThat(t.wire()).isEqualTo("constellation"));
  }

  @Test
  void constellationHeartbeatWithItsOwnTypeIsAnswered() {
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.heartbeat("galaxy-1", "constellation").text());
    assertRegistrationOk(constellation.next());
    constellation.send(AipFrames.heartbeat(null, "constellation").text());
    assertRegistrationOk(constellation.next());
  }

  // ---------------------------------------------------------------------------------- task

  @Test
  void constellationTaskIsAckedAndForwardedToTheDevice() {
    WsClient[] pair = fixturePair();
    WsClient device = pair[0];
    WsClient constellation = pair[1];

    constellation.send(Fixtures.text("client-task-constellation.json"));
    ServerMessage ack = constellation.next();
    assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(ack.status()).isEqualTo(TaskStatus.OK);
    assertThat(ack.sessionId()).isEqualTo(SESSION);

    JsonNode task = AipFrames.tree(device.nextText());
    JsonNode golden = AipFrames.tree(Fixtures.text("server-task-to-device.json"));
    for (String field :
        new String[] {"type", "status", "user_request", "task_name", "session_id"}) {
      assertThat(task.get(field)).as(field).isEqualTo(golden.get(field));
    }
    assertThat(UUID.fromString(task.get("response_id").asText())).isNotNull();

    assertRunning(SESSION, CONSTELLATION, DEVICE);
    Session s = hub().sessions().running(SESSION).orElseThrow();
    assertThat(s.taskName()).isEqualTo("galaxy/weekly_report/fill_sheet");
    assertThat(s.request()).isEqualTo("Open sales.xlsx and total column C");
    constellation.expectNothing(QUIET);
  }

  @Test
  void taskWithoutSessionIdGetsAGeneratedOne() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.task("galaxy-1", "dev-1", null, "list files").text());

    ServerMessage ack = constellation.next();
    assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    String generated = ack.sessionId();
    assertThat(generated).isNotBlank();
    ServerMessage task = device.next();
    assertThat(task.sessionId()).isEqualTo(generated);
    assertThat(task.userRequest()).isEqualTo("list files");
    assertRunning(generated, "galaxy-1", "dev-1");

    // a second one gets another id
    constellation.send(AipFrames.task("galaxy-1", "dev-1", null, "list more").text());
    String another = constellation.next().sessionId();
    assertThat(another).isNotBlank().isNotEqualTo(generated);
    assertThat(device.next().sessionId()).isEqualTo(another);
  }

  @Test
  void taskToAnOfflineDeviceIsRefused() {
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.task("galaxy-1", "dev-gone", "s-1", "hello").text());
    ServerMessage err =
        assertTaskRefused(constellation, "s-1", "target device 'dev-gone' is not connected");
    assertThat(err.sessionId()).isEqualTo("s-1");
    assertNoSessions();
    assertThat(hub().sessions().get("s-1")).isEmpty();
    assertAlive(constellation, "galaxy-1", "constellation");
  }

  @Test
  void taskToAConstellationIsRefused() {
    WsClient other = hub().constellation("galaxy-2", null);
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.task("galaxy-1", "galaxy-2", "s-1", "hello").text());
    assertTaskRefused(constellation, "s-1", "target device 'galaxy-2' is not connected");
    other.expectNothing(QUIET);
    assertNoSessions();
  }

  @Test
  void taskWithoutTargetIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.task("galaxy-1", null, "s-1", "hello").text());
    assertTaskRefused(constellation, "s-1", "a task needs a target_id");
    constellation.send(AipFrames.task("galaxy-1", "", "s-2", "hello").text());
    assertTaskRefused(constellation, "s-2", "a task needs a target_id");
    device.expectNothing(QUIET);
    assertNoSessions();
  }

  @Test
  void taskWithAnEmptyOrMissingRequestIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");
    constellation.send(AipFrames.task("galaxy-1", "dev-1", "s-1", "").text());
    assertTaskRefused(constellation, "s-1", "a task needs a non-empty request");
    constellation.send(AipFrames.task("galaxy-1", "dev-1", "s-2", null).text());
    assertTaskRefused(constellation, "s-2", "a task needs a non-empty request");
    device.expectNothing(QUIET);
    assertNoSessions();
    assertThat(hub().sessions().get("s-1")).isEmpty();
  }

  @Test
  void taskWithAnUnsafeSessionIdIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");
    constellation.send(AipFrames.task("galaxy-1", "dev-1", "my session", "hello").text());
    // The task_end echoes the id as sent, so the sender can match it to its task.
    assertTaskRefused(
        constellation, "my session", "session_id 'my session' holds a character outside");
    constellation.send(AipFrames.task("galaxy-1", "dev-1", "", "hello").text());
    assertError(constellation.next(), "session_id must be a non-empty string");
    constellation.expectNothing(QUIET); // an empty id names no task to end
    device.expectNothing(QUIET);
    assertNoSessions();
    assertThat(hub().sessions().get("my session")).isEmpty();
  }

  @Test
  void constellationScopedToOneDeviceCannotTaskAnother() {
    WsClient x = hub().device("dev-x");
    WsClient y = hub().device("dev-y");
    WsClient constellation = hub().constellation("galaxy-1", "dev-x");
    constellation.send(AipFrames.task("galaxy-1", "dev-y", "s-1", "hello").text());
    assertTaskRefused(
        constellation, "s-1", "registered for device 'dev-x' and may only send tasks to it");
    y.expectNothing(QUIET);
    assertThat(x.pending()).isZero();
    assertNoSessions();
    assertAlive(constellation, "galaxy-1", "constellation");
  }

  // ------------------------------------------------------------------------------ task_end

  @Test
  void taskEndCompletedWithResultExtensionGoesToTheOwner() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(Fixtures.text("client-task-end-device.json"));

    JsonNode end = AipFrames.tree(pair[1].nextText());
    JsonNode golden = AipFrames.tree(Fixtures.text("server-task-end.json"));
    for (String field : new String[] {"type", "status", "session_id", "result"}) {
      assertThat(end.get(field)).as(field).isEqualTo(golden.get(field));
    }
    assertThat(end.hasNonNull("error")).isFalse();
    assertThat(UUID.fromString(end.get("response_id").asText())).isNotNull();

    assertUnmapped(SESSION, CONSTELLATION, DEVICE);
    Session done = hub().sessions().get(SESSION).orElseThrow();
    assertThat(done.state()).isEqualTo(SessionState.COMPLETED);
    assertNoSessions();
    // the device gets nothing back for its task_end
    pair[0].expectNothing(QUIET);
  }

  @Test
  void taskEndFailedWithActionResultsForwardsThemAsResultAndTheError() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");
    hub().startTask(constellation, "galaxy-1", device, "dev-1", "s-1");

    String results =
        "[{\"status\":\"success\",\"error\":null,\"result\":\"clicked\",\"namespace\":\"UICollector\","
            + "\"call_id\":\"c-17\"},{\"status\":\"failure\",\"error\":\"control not found\","
            + "\"result\":null,\"namespace\":\"HostUIExecutor\",\"call_id\":\"c-18\"}]";
    device.send(
        AipFrames.taskEnd("dev-1", "s-1", "failed")
            .json("action_results", results)
            .set("error", "control not found")
            .text());

    JsonNode end = AipFrames.tree(constellation.nextText());
    assertThat(end.get("type").asText()).isEqualTo("task_end");
    assertThat(end.get("status").asText()).isEqualTo("failed");
    assertThat(end.get("session_id").asText()).isEqualTo("s-1");
    assertThat(end.get("error").asText()).isEqualTo("control not found");
    assertThat(end.get("result")).isEqualTo(AipFrames.tree(results));
    assertThat(end.get("response_id").asText()).isNotBlank();

    assertUnmapped("s-1", "galaxy-1", "dev-1");
    assertThat(hub().sessions().get("s-1").orElseThrow().state()).isEqualTo(SessionState.FAILED);
  }

  @Test
  void taskEndCompletedWithActionResults() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", null);
    hub().startTask(constellation, "galaxy-1", device, "dev-1", "s-1");
    String results =
        "[{\"status\":\"success\",\"error\":null,\"result\":{\"rows\":3},\"namespace\":\"X\","
            + "\"call_id\":\"c-1\"}]";
    device.send(
        AipFrames.taskEnd("dev-1", "s-1", "completed").json("action_results", results).text());
    JsonNode end = AipFrames.tree(constellation.nextText());
    assertThat(end.get("status").asText()).isEqualTo("completed");
    assertThat(end.get("result")).isEqualTo(AipFrames.tree(results));
    assertUnmapped("s-1", "galaxy-1", "dev-1");
  }

  @Test
  void taskEndFromADeviceThatDoesNotRunTheSessionIsRefused() {
    WsClient[] pair = fixtureTaskRunning();
    WsClient intruder = hub().device("dev-other");
    intruder.send(
        AipFrames.taskEnd("dev-other", SESSION, "completed").json("result", "{\"x\":1}").text());
    ServerMessage err =
        assertError(intruder.next(), "no running session 'weekly_report@task_3' on this device");
    assertThat(err.sessionId()).isEqualTo(SESSION);

    pair[1].expectNothing(QUIET);
    assertRunning(SESSION, CONSTELLATION, DEVICE);
    assertThat(hub().registry().getDeviceSessions("dev-other")).isEmpty();

    // the real executor can still end it
    pair[0].send(Fixtures.text("client-task-end-device.json"));
    assertThat(pair[1].next().status()).isEqualTo(TaskStatus.COMPLETED);
  }

  @Test
  void taskEndForAnUnknownSessionIsRefusedAndCreatesNothing() {
    WsClient device = hub().device("dev-1");
    WsClient constellation = hub().constellation("galaxy-1", "dev-1");
    device.send(AipFrames.taskEnd("dev-1", "nope-1", "completed").text());
    assertError(device.next(), "no running session 'nope-1'");
    device.send(AipFrames.taskEnd("dev-1", null, "completed").text());
    assertError(device.next(), "needs a session_id");

    assertThat(hub().sessions().get("nope-1")).isEmpty();
    assertThat(hub().sessions().historySize()).isZero();
    assertNoSessions();
    constellation.expectNothing(QUIET);
    assertAlive(device, "dev-1", "device");
  }

  @Test
  void taskEndFromAConstellationIsRefused() {
    WsClient[] pair = fixtureTaskRunning();
    pair[1].send(
        AipFrames.frame("task_end", "completed", "constellation", CONSTELLATION)
            .set("session_id", SESSION)
            .text());
    assertError(pair[1].next(), "only the device running a session can end it");
    pair[0].expectNothing(QUIET);
    assertRunning(SESSION, CONSTELLATION, DEVICE);
  }

  @Test
  void taskEndWithANonFinalStatusIsRefused() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(AipFrames.taskEnd(DEVICE, SESSION, "continue").text());
    assertError(pair[0].next(), "task_end status must be completed or failed, got 'continue'");
    pair[1].expectNothing(QUIET);
    assertRunning(SESSION, CONSTELLATION, DEVICE);
  }

  // ---------------------------------------------------------------------------- device error

  @Test
  void deviceErrorOnItsSessionFailsItForTheOwner() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(AipFrames.deviceError(DEVICE, SESSION, "Excel crashed").text());

    ServerMessage end = pair[1].next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.sessionId()).isEqualTo(SESSION);
    assertThat(end.error()).isEqualTo("Excel crashed");
    assertThat(end.responseId()).isNotBlank();

    assertUnmapped(SESSION, CONSTELLATION, DEVICE);
    assertThat(hub().sessions().get(SESSION).orElseThrow().state()).isEqualTo(SessionState.FAILED);
    pair[0].expectNothing(QUIET);
  }

  @Test
  void deviceErrorOnASessionItDoesNotRunFailsNothing() {
    WsClient[] pair = fixtureTaskRunning();
    WsClient other = hub().device("dev-other");
    other.send(AipFrames.deviceError("dev-other", SESSION, "boom").text());
    assertError(other.next(), "no running session 'weekly_report@task_3' on this device");
    pair[1].expectNothing(QUIET);
    assertRunning(SESSION, CONSTELLATION, DEVICE);
  }

  @Test
  void deviceErrorWithoutSessionIsInformational() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(AipFrames.deviceError(DEVICE, null, "low disk space").text());
    pair[1].expectNothing(QUIET);
    assertRunning(SESSION, CONSTELLATION, DEVICE);
    assertAlive(pair[0], DEVICE, "device");
  }

  // ------------------------------------------------------------------------ session id reuse

  @Test
  void sessionIdRunningForAnotherOwnerIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient a = hub().constellation("galaxy-a", null);
    WsClient b = hub().constellation("galaxy-b", null);
    hub().startTask(a, "galaxy-a", device, "dev-1", "shared-1");

    b.send(AipFrames.task("galaxy-b", "dev-1", "shared-1", "steal").text());
    ServerMessage err = assertTaskRefused(b, "shared-1", "already used by another client");
    assertThat(err.sessionId()).isEqualTo("shared-1");

    device.expectNothing(QUIET);
    assertThat(a.pending()).isZero();
    assertRunning("shared-1", "galaxy-a", "dev-1");
    assertThat(hub().registry().getConstellationSessions("galaxy-b")).isEmpty();
    assertThat(hub().sessions().running("shared-1").orElseThrow().request())
        .isEqualTo("do shared-1");
  }

  @Test
  void finishedSessionIdOfAnotherOwnerIsANewRun() {
    WsClient device = hub().device("dev-1");
    WsClient a = hub().constellation("galaxy-a", null);
    WsClient b = hub().constellation("galaxy-b", null);
    hub().startTask(a, "galaxy-a", device, "dev-1", "shared-1");
    device.send(
        AipFrames.taskEnd("dev-1", "shared-1", "completed").json("result", "\"a's\"").text());
    assertThat(a.next().type()).isEqualTo(ServerMessageType.TASK_END);

    // As in the reference server: a finished id is free for anyone.
    b.send(AipFrames.task("galaxy-b", "dev-1", "shared-1", "mine").text());
    assertThat(b.next().sessionId()).isEqualTo("shared-1");
    assertThat(device.next().userRequest()).isEqualTo("mine");
    assertRunning("shared-1", "galaxy-b", "dev-1");
    device.send(AipFrames.taskEnd("dev-1", "shared-1", "completed").text());
    ServerMessage end = b.next();
    assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.result()).isNull();
    a.expectNothing(QUIET);
    assertThat(hub().sessions().runs("shared-1", 10))
        .extracting(Session::ownerId)
        .containsExactly("galaxy-b", "galaxy-a");
  }

  @Test
  void runningSessionIdReusedByItsOwnerIsRefused() {
    WsClient device = hub().device("dev-1");
    WsClient a = hub().constellation("galaxy-a", "dev-1");
    hub().startTask(a, "galaxy-a", device, "dev-1", "s-1");

    a.send(AipFrames.task("galaxy-a", "dev-1", "s-1", "again").text());
    assertError(a.next(), "session 's-1' is already running");
    a.expectNothing(QUIET); // no task_end: the session goes on, its own task_end will come
    device.expectNothing(QUIET);
    assertRunning("s-1", "galaxy-a", "dev-1");
    assertThat(hub().sessions().running("s-1").orElseThrow().request()).isEqualTo("do s-1");
    assertThat(hub().registry().getDeviceSessions("dev-1")).containsExactly("s-1");
  }

  @Test
  void finishedSessionIdMayBeReusedByItsOwner() {
    WsClient device = hub().device("dev-1");
    WsClient a = hub().constellation("galaxy-a", "dev-1");
    hub().startTask(a, "galaxy-a", device, "dev-1", "s-1");
    device.send(AipFrames.taskEnd("dev-1", "s-1", "failed").set("error", "first run").text());
    assertThat(a.next().status()).isEqualTo(TaskStatus.FAILED);
    long firstRun = hub().sessions().get("s-1").orElseThrow().run();

    a.send(AipFrames.task("galaxy-a", "dev-1", "s-1", "second try").text());
    ServerMessage ack = a.next();
    assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(ack.sessionId()).isEqualTo("s-1");
    ServerMessage task = device.next();
    assertThat(task.userRequest()).isEqualTo("second try");
    assertRunning("s-1", "galaxy-a", "dev-1");
    assertThat(hub().sessions().running("s-1").orElseThrow().run()).isNotEqualTo(firstRun);

    device.send(AipFrames.taskEnd("dev-1", "s-1", "completed").json("result", "2").text());
    ServerMessage end = a.next();
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.error()).isNull();
    assertThat(end.result()).isEqualTo(2);
  }

  // ------------------------------------------------------------------ max_concurrent_tasks

  @Test
  void deviceTaskLimitIsEnforced(@TempDir Path dir) throws IOException {
    Path config = dir.resolve("device_config.yaml");
    Files.writeString(
        config,
        "devices:\n  dev-cap:\n    tier: \"small\"\n    max_concurrent_tasks: 2\n",
        StandardCharsets.UTF_8);
    hub(b -> b.set(DEVICE_CONFIG, config));
    WsClient device = hub().device("dev-cap");
    WsClient a = hub().constellation("galaxy-a", "dev-cap");
    hub().startTask(a, "galaxy-a", device, "dev-cap", "s-1");
    hub().startTask(a, "galaxy-a", device, "dev-cap", "s-2");

    a.send(AipFrames.task("galaxy-a", "dev-cap", "s-3", "one too many").text());
    ServerMessage err = assertTaskRefused(a, "s-3", "limit of 2 concurrent tasks");
    assertThat(err.error()).contains("max_concurrent_tasks").contains("dev-cap");
    assertThat(err.sessionId()).isEqualTo("s-3");
    device.expectNothing(QUIET);
    assertThat(hub().registry().getDeviceSessions("dev-cap")).containsExactly("s-1", "s-2");
    assertThat(hub().sessions().get("s-3")).isEmpty();
    assertThat(hub().sessions().counts().running()).isEqualTo(2);

    // a finished task frees a slot, and the refused id is usable
    device.send(AipFrames.taskEnd("dev-cap", "s-1", "completed").text());
    assertThat(a.next().type()).isEqualTo(ServerMessageType.TASK_END);
    hub().startTask(a, "galaxy-a", device, "dev-cap", "s-3");
  }

  // ---------------------------------------------------------------------- unsupported types

  @Test
  void deviceOriginatedTaskIsRefusedWithTheReason() {
    WsClient device = hub().device("dev-1");
    device.send(
        AipFrames.frame("task", "continue", "device", "dev-1")
            .set("target_id", "dev-1")
            .set("request", "run yourself")
            .set("session_id", "d-1")
            .text());
    assertTaskRefused(device, "d-1", "devices cannot start tasks: the hub runs no agent");
    assertNoSessions();
    assertThat(hub().sessions().get("d-1")).isEmpty();
    assertAlive(device, "dev-1", "device");
  }

  @Test
  void commandResultsAreRefusedAsUnsupported() {
    WsClient[] pair = fixtureTaskRunning();
    pair[0].send(Fixtures.text("client-command-results.json"));
    assertError(pair[0].next(), "unsupported message type 'command_results'");
    pair[1].expectNothing(QUIET);
    assertRunning(SESSION, CONSTELLATION, DEVICE);
    assertAlive(pair[0], DEVICE, "device");
  }

  @Test
  void unknownTypeIsRefusedNamingIt() {
    WsClient device = hub().device("dev-1");
    device.send(AipFrames.frame("teleport", "ok", "device", "dev-1").text());
    assertError(device.next(), "'teleport'");
    assertAlive(device, "dev-1", "device");
    WsClient constellation = hub().constellation("galaxy-1", null);
    constellation.send(AipFrames.frame("command", "ok", "constellation", "galaxy-1").text());
    assertError(constellation.next(), "'command'");
    assertAlive(constellation, "galaxy-1", "constellation");
  }
}
