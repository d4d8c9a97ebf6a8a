package org.aiphub.server.testing.agent;

import static org.aiphub.server.testing.agent.ReferenceClientFrames.commandResults;
import static org.aiphub.server.testing.agent.ReferenceClientFrames.deviceInfoRequest;
import static org.aiphub.server.testing.agent.ReferenceClientFrames.deviceRequest;
import static org.aiphub.server.testing.agent.ReferenceClientFrames.heartbeat;
import static org.aiphub.server.testing.agent.ReferenceClientFrames.registerConstellation;
import static org.aiphub.server.testing.agent.ReferenceClientFrames.registerDevice;
import static org.aiphub.server.testing.agent.ReferenceClientFrames.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.WsClient;
import org.aiphub.server.testing.agent.AgentScript.Outcome;
import org.aiphub.server.testing.agent.AgentScript.Step;
import org.aiphub.server.testing.agent.AgentScript.Tool;
import org.aiphub.server.testing.agent.FrameRecorder.Direction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The stand-in behaves like the UFO reference agent server on the wire: each rule with plain
 * WebSocket clients, and every transcript recorded against the real server replayed against it.
 */
class ReferenceAgentServerTest {
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final Step CLICK =
      Step.of("HostAgent", Tool.action("click_input", Map.of("id", "1")));

  private ReferenceAgentServer agent;
  private final List<WsClient> clients = new ArrayList<>();

  @BeforeEach
  void start() {
    agent = ReferenceAgentServer.builder().token("K").build().start();
  }

  @AfterEach
  void stop() {
    clients.forEach(c -> c.abort());
    agent.stop();
  }

  private WsClient connect() {
    WsClient c = WsClient.connect(agent.uri());
    clients.add(c);
    return c;
  }

  private WsClient device(String id) {
    WsClient c = connect().send(registerDevice(id, "windows"));
    assertThat(json(c.nextText()).path("status").asText()).isEqualTo("ok");
    return c;
  }

  private WsClient constellation(String id, String target) {
    WsClient c = connect().send(registerConstellation(id, target));
    assertThat(json(c.nextText()).path("status").asText()).isEqualTo("ok");
    return c;
  }

  private static JsonNode json(String text) {
    try {
      return ReferenceFrames.JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new AssertionError(text, e);
    }
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> names = new ArrayList<>();
    n.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /** Answers commands on {@code device} until its task_end, which it returns. */
  private static JsonNode runDevice(WsClient device, String deviceId) {
    while (true) {
      JsonNode f = json(device.nextText());
      if (f.path("type").asText().equals("command")) {
        device.send(commandResults(deviceId, f));
      } else if (f.path("type").asText().equals("task_end")) {
        return f;
      }
    }
  }

  @Test
  void registrationIsAnsweredWithAHeartbeatCarryingEveryServerFieldInOrder() {
    WsClient d = connect().send(registerDevice("dev-1", "windows"));
    String raw = d.nextText();
    JsonNode reply = json(raw);
    assertThat(fieldNames(reply)).containsExactlyElementsOf(ReferenceFrames.SERVER_FIELDS);
    assertThat(reply.path("type").asText()).isEqualTo("heartbeat");
    assertThat(reply.path("status").asText()).isEqualTo("ok");
    assertThat(reply.path("response_id").asText()).matches("[0-9a-f-]{36}");
    assertThat(reply.path("timestamp").asText())
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?\\+00:00");
    assertThat(reply.get("session_id").isNull()).isTrue();
    assertThat(raw).doesNotContain(": ").doesNotContain(", ");
    d.send(heartbeat("dev-1"));
    assertThat(fieldNames(json(d.nextText())))
        .containsExactlyElementsOf(ReferenceFrames.SERVER_FIELDS);
    assertThat(agent.clients()).containsExactly("dev-1");
  }

  @Test
  void aSecondLiveRegistrationOfAnIdIsRefusedAndTheFirstHolderStays() {
    WsClient first = device("dev-1");
    WsClient twin = connect().send(registerDevice("dev-1", "linux"));
    JsonNode refusal = json(twin.nextText());
    assertThat(refusal.path("type").asText()).isEqualTo("error");
    assertThat(refusal.path("status").asText()).isEqualTo("error");
    assertThat(refusal.path("error").asText())
        .isEqualTo(
            "client_id 'dev-1' is already registered; duplicate registrations are not allowed");
    assertThat(twin.awaitClose()).isEqualTo(1000);
    first.send(heartbeat("dev-1"));
    assertThat(json(first.nextText()).path("type").asText()).isEqualTo("heartbeat");
    WsClient constellationWithTheId = connect().send(registerConstellation("dev-1", null));
    assertThat(json(constellationWithTheId.nextText()).path("type").asText()).isEqualTo("error");
  }

  @Test
  void aConstellationIsRefusedUnlessItsTargetIsADeviceRegisteredOnThisServer() {
    WsClient unknown = connect().send(registerConstellation("t@nobody", "nobody"));
    assertThat(json(unknown.nextText()).path("error").asText())
        .isEqualTo("Target device 'nobody' is not connected");
    assertThat(unknown.awaitClose()).isEqualTo(1000);
    constellation("galaxy-1", null);
    WsClient atConstellation = connect().send(registerConstellation("t@galaxy", "galaxy-1"));
    assertThat(json(atConstellation.nextText()).path("error").asText())
        .isEqualTo("Target device 'galaxy-1' is not connected");
    device("dev-1");
    constellation("t@dev-1", "dev-1");
    assertThat(agent.clients()).containsExactly("dev-1", "galaxy-1", "t@dev-1");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_id\":\"dev-1\"}",
        "{\"type\":\"register\",\"status\":\"ok\"}",
        "not json"
      })
  void aFirstFrameThatDoesNotRegisterClosesTheSocketWithoutAnErrorFrame(String first) {
    WsClient c = connect().send(first);
    assertThat(c.awaitClose()).isEqualTo(1000);
    assertThat(c.pending()).isZero();
    assertThat(agent.clients()).isEmpty();
  }

  @Test
  void aSocketThatNeverRegistersIsNotTimedOut() {
    WsClient c = connect();
    c.expectNothing(Duration.ofSeconds(1));
    assertThat(c.isClosed()).isFalse();
  }

  @Test
  void framesClaimingAnotherIdOrTypeAreRefusedIncludingGalaxysHeartbeats() {
    WsClient d = device("dev-1");
    d.send(heartbeat("someone-else"));
    assertThat(json(d.nextText()).path("error").asText())
        .isEqualTo("client_id does not match the registered connection");
    d.send(task("dev-1", "dev-1", "s1", "t", "x").replace("\"device\"", "\"constellation\""));
    assertThat(json(d.nextText()).path("error").asText())
        .isEqualTo("client_type does not match the registered connection");
    d.send("{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_id\":null}");
    assertThat(json(d.nextText()).path("type").asText()).isEqualTo("heartbeat");
    WsClient c = constellation("t@dev-1", "dev-1");
    c.send(heartbeat("t@dev-1"));
    JsonNode refused = json(c.nextText());
    assertThat(refused.path("type").asText()).isEqualTo("error");
    assertThat(refused.path("error").asText())
        .isEqualTo("client_type does not match the registered connection");
    c.send(heartbeat("t@dev-1").replace("\"device\"", "\"constellation\""));
    assertThat(json(c.nextText()).path("type").asText()).isEqualTo("heartbeat");
  }

  @ParameterizedTest
  @ValueSource(strings = {"?token=wrong", "", "?token="})
  void aBadOrMissingTokenGetsHttp403WithAnEmptyBody(String query) throws IOException {
    try (Socket s = new Socket("127.0.0.1", agent.port())) {
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET /ws"
                  + query
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  + "Sec-WebSocket-Version: 13\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(response).startsWith("HTTP/1.1 403 Forbidden\r\n");
      assertThat(response.toLowerCase(java.util.Locale.ROOT))
          .contains(
              "content-length: 0\r\n", "content-type: text/plain\r\n", "connection: close\r\n")
          .endsWith("\r\n\r\n");
    }
  }

  @Test
  void aBinaryFrameAfterRegistrationClosesTheSocketAndFreesTheId() {
    WsClient d = device("dev-1");
    d.sendBinary(heartbeat("dev-1").getBytes(StandardCharsets.UTF_8));
    assertThat(d.awaitClose()).isEqualTo(1000);
    await().until(() -> agent.clients().isEmpty());
    device("dev-1");
  }

  @Test
  void aConstellationTaskIsAckedRunsCommandsOnTheDeviceAndEndsAtTheOwnerThenTheDevice() {
    WsClient d = device("dev-1");
    WsClient c = constellation("t1@dev-1", "dev-1");
    c.send(task("t1@dev-1", "dev-1", "t1@task-7", "galaxy/t1/fill sheet ✓", "Open sales.xlsx"));
    JsonNode ack = json(c.nextText());
    assertThat(ack.path("type").asText()).isEqualTo("heartbeat");
    assertThat(ack.path("session_id").asText()).isEqualTo("t1@task-7");

    JsonNode first = json(d.nextText());
    assertThat(fieldNames(first)).containsExactlyElementsOf(ReferenceFrames.SERVER_FIELDS);
    assertThat(first.path("type").asText()).isEqualTo("command");
    assertThat(first.path("status").asText()).isEqualTo("continue");
    assertThat(first.path("agent_name").asText()).isEqualTo("HostAgent");
    assertThat(first.path("process_name").asText()).isEmpty();
    assertThat(first.path("root_name").asText()).isEmpty();
    assertThat(first.path("task_name").asText()).isEqualTo("galaxy_t1_fill_sheet__");
    assertThat(first.path("session_id").asText()).isEqualTo("t1@task-7");
    JsonNode action = first.path("actions").get(0);
    assertThat(fieldNames(action))
        .containsExactly("tool_name", "parameters", "tool_type", "call_id");
    assertThat(action.path("tool_name").asText()).isEqualTo("capture_desktop_screenshot");
    assertThat(action.path("tool_type").asText()).isEqualTo("data_collection");
    d.send(commandResults("dev-1", first));

    JsonNode second = json(d.nextText());
    assertThat(second.path("agent_name").asText()).isEqualTo("AppAgent");
    assertThat(second.path("process_name").asText()).isEqualTo("EXCEL.EXE");
    assertThat(second.path("root_name").asText()).isEqualTo("Excel");
    assertThat(second.path("response_id").asText())
        .isNotEqualTo(first.path("response_id").asText());
    d.send(commandResults("dev-1", second));

    JsonNode ownerEnd = json(c.nextText());
    JsonNode deviceEnd = json(d.nextText());
    assertThat(ownerEnd.path("type").asText()).isEqualTo("task_end");
    assertThat(ownerEnd.path("status").asText()).isEqualTo("completed");
    assertThat(ownerEnd.get("error").isNull()).isTrue();
    assertThat(ownerEnd.get("task_name").isNull()).isTrue();
    assertThat(ownerEnd.path("result").isArray()).isTrue();
    assertThat(ownerEnd.path("result").get(0).path("request").asText())
        .isEqualTo("Open sales.xlsx");
    assertThat(ownerEnd.path("result").get(0).path("result").size()).isEqualTo(2);
    assertThat(deviceEnd.path("response_id")).isEqualTo(ownerEnd.path("response_id"));
    assertThat(deviceEnd.path("result")).isEqualTo(ownerEnd.path("result"));
    List<FrameRecorder.Frame> out = agent.recorder().matching(f -> f.direction() == Direction.OUT);
    assertThat(out.stream().map(f -> f.clientId() + ":" + f.type()))
        .endsWith("t1@dev-1:task_end", "dev-1:task_end");
    assertThat(agent.runningSessions()).isEmpty();
  }

  @Test
  void aDevicesOwnRequestGetsAServerChosenSessionIdAndEndsOnTheDevice() {
    WsClient d = device("dev-1");
    d.send(deviceRequest("dev-1", "yardstick/device request ✓", "do it", "windows"));
    JsonNode ack = json(d.nextText());
    String session = ack.path("session_id").asText();
    assertThat(session)
        .matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    JsonNode command = json(d.nextText());
    assertThat(command.path("session_id").asText()).isEqualTo(session);
    assertThat(command.path("task_name").asText()).isEqualTo("yardstick_device_request__");
    d.send(commandResults("dev-1", command));
    JsonNode end = runDevice(d, "dev-1");
    assertThat(end.path("session_id").asText()).isEqualTo(session);
    assertThat(end.path("status").asText()).isEqualTo("completed");
    d.expectNothing(QUIET);
  }

  @Test
  void commandResultsCountOnlyFromTheExecutorForTheAwaitedCommandAndOthersAreDroppedSilently() {
    agent.agent(AgentScript.of(CLICK));
    WsClient d = device("dev-1");
    WsClient other = device("dev-2");
    WsClient c = constellation("t@dev-1", "dev-1");
    d.send(
        commandResults(
            "dev-1",
            json(
                "{\"status\":\"continue\",\"session_id\":\"nope\",\"response_id\":\"r\",\"actions\":[]}")));
    c.send(task("t@dev-1", "dev-1", "t@s", "n", "x"));
    c.nextText();
    JsonNode command = json(d.nextText());
    other.send(commandResults("dev-2", command));
    c.send(commandResults("t@dev-1", command).replace("\"device\"", "\"constellation\""));
    ObjectNode wrong = (ObjectNode) json(commandResults("dev-1", command));
    wrong.put("prev_response_id", ReferenceFrames.uuid());
    d.send(ReferenceFrames.text(wrong));
    c.expectNothing(QUIET);
    d.expectNothing(Duration.ZERO);
    other.expectNothing(Duration.ZERO);
    assertThat(agent.runningSessions()).containsExactly("t@s");
    d.send(commandResults("dev-1", command));
    d.send(commandResults("dev-1", command));
    assertThat(json(c.nextText()).path("status").asText()).isEqualTo("completed");
    assertThat(json(d.nextText()).path("type").asText()).isEqualTo("task_end");
    d.expectNothing(QUIET);
  }

  @Test
  void whenTheOwnerLeavesItsSessionIsCancelledSilentlyAndTheDevicesLateResultsAreDropped() {
    agent.agent(AgentScript.of(CLICK, CLICK));
    WsClient d = device("dev-1");
    WsClient c = constellation("t@dev-1", "dev-1");
    c.send(task("t@dev-1", "dev-1", "t@s", "n", "x"));
    c.nextText();
    JsonNode command = json(d.nextText());
    c.abort();
    await().until(() -> agent.runningSessions().isEmpty());
    d.send(commandResults("dev-1", command));
    d.expectNothing(QUIET);
    WsClient again = constellation("t@dev-1", "dev-1");
    again.send(task("t@dev-1", "dev-1", "t@s", "n", "x"));
    assertThat(json(again.nextText()).path("session_id").asText()).isEqualTo("t@s");
    runDevice(d, "dev-1");
    assertThat(json(again.nextText()).path("status").asText()).isEqualTo("completed");
  }

  @Test
  void whenTheDeviceLeavesTheOwnerGetsAFailedTaskEndWithThePartialResult() {
    agent.agent(AgentScript.defaultScript());
    WsClient d = device("dev-1");
    WsClient c = constellation("t@dev-1", "dev-1");
    c.send(task("t@dev-1", "dev-1", "t@s", "n", "x"));
    c.nextText();
    d.send(commandResults("dev-1", json(d.nextText())));
    d.nextText();
    d.abort();
    JsonNode end = json(c.nextText());
    assertThat(end.path("type").asText()).isEqualTo("task_end");
    assertThat(end.path("status").asText()).isEqualTo("failed");
    assertThat(end.path("error").asText())
        .isEqualTo("Task was cancelled because target device disconnected");
    assertThat(end.path("result").get(0).path("result").size()).isEqualTo(1);
    await().until(() -> !agent.clients().contains("dev-1"));
    device("dev-1");
    c.expectNothing(QUIET);
  }

  @Test
  void aDevicesOwnSessionOutlivesTheDeviceAndEndsOnItsNextSocket() {
    agent.agent(AgentScript.of(CLICK, CLICK));
    WsClient d = device("dev-1");
    d.send(deviceRequest("dev-1", "own", "x", "windows"));
    d.nextText();
    JsonNode command = json(d.nextText());
    d.abort();
    await().until(() -> !agent.clients().contains("dev-1"));
    assertThat(agent.runningSessions()).hasSize(1);
    WsClient back = device("dev-1");
    back.send(commandResults("dev-1", command));
    JsonNode end = json(back.nextText());
    assertThat(end.path("type").asText()).isEqualTo("task_end");
    assertThat(end.path("status").asText()).isEqualTo("completed");
    JsonNode lost = end.path("result").get(0).path("result").get(1).get(0);
    assertThat(lost.path("status").asText()).isEqualTo("failure");
    assertThat(lost.path("error").asText())
        .startsWith(
            "Error occurred while executing command tool_name='click_input' parameters={'id': '1'}")
        .endsWith(": WebSocket connection is closed, please retry or execute a different command.");
  }

  @Test
  void scriptedOutcomesEndTheWayTheReferenceEndsSessions() {
    WsClient d = device("dev-1");
    WsClient c = constellation("t@dev-1", "dev-1");
    record Case(AgentScript script, String status, String error, String result) {}
    List<Case> cases =
        List.of(
            new Case(
                AgentScript.of(CLICK).reporting(Map.of("total", 1)),
                "completed",
                null,
                "[{\"request\":\"x\",\"result\":{\"total\":1}}]"),
            new Case(
                AgentScript.of().ending(Outcome.ERROR),
                "failed",
                null,
                "{\"failure\":\"session ended with an error\"}"),
            new Case(
                AgentScript.of(CLICK).raising("LLM quota exhausted"),
                "failed",
                "LLM quota exhausted",
                null),
            new Case(
                AgentScript.of(CLICK).ending(Outcome.UNKNOWN),
                "failed",
                "Session ended in unknown state",
                null),
            new Case(AgentScript.of(), "completed", null, "[]"));
    int n = 0;
    for (Case k : cases) {
      agent.agent(k.script());
      c.send(task("t@dev-1", "dev-1", "t@case-" + n++, "n", "x"));
      c.nextText();
      runDevice(d, "dev-1");
      JsonNode end = json(c.nextText());
      assertThat(end.path("status").asText()).isEqualTo(k.status());
      assertThat(end.get("error").isNull() ? null : end.get("error").asText()).isEqualTo(k.error());
      if (k.result() != null) {
        assertThat(ReferenceFrames.text(end.get("result"))).isEqualTo(k.result());
      }
    }
  }

  @Test
  void refusedTasksGetAnErrorFrameWithoutSessionIdAndNoTaskEnd() {
    agent.agent(AgentScript.of(CLICK));
    WsClient d = device("dev-1");
    WsClient mac = connect().send(registerDevice("mac-1", "macos"));
    mac.nextText();
    WsClient free = constellation("galaxy", null);
    WsClient c = constellation("t@dev-1", "dev-1");
    free.send(task("galaxy", null, "g@1", "n", "x"));
    free.send(task("galaxy", "nobody", "g@2", "n", "x"));
    free.send(task("galaxy", "t@dev-1", "g@3", "n", "x"));
    free.send(task("galaxy", "mac-1", "g@4", "n", "x"));
    c.send(task("t@dev-1", "dev-1", "busy", "n", "x"));
    c.nextText();
    d.nextText();
    free.send(task("galaxy", "dev-1", "busy", "n", "x"));
    List<String> errors = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      JsonNode e = json(free.nextText());
      assertThat(e.path("type").asText()).isEqualTo("error");
      assertThat(e.get("session_id").isNull()).isTrue();
      errors.add(e.path("error").asText());
    }
    assertThat(errors)
        .containsExactly(
            "Constellation task requests require target_id",
            "Target device 'nobody' is not connected",
            "Constellation tasks may only target device clients",
            "Service session not supported on macos",
            "session_id 'busy' is owned by another client");
    d.send(task("dev-1", "dev-2", null, "n", "x").replace("\"constellation\"", "\"device\""));
    assertThat(json(d.nextText()).path("error").asText())
        .isEqualTo("Device clients may not target other devices");
    free.expectNothing(QUIET);
  }

  @Test
  void aRefusedReuseOfARunningIdLeavesItsOwnerUntoldWhenTheDeviceLaterLeaves() {
    // The reference's rollback of the refused task drops the target's whole session list.
    agent.agent(AgentScript.of(CLICK));
    WsClient d = device("dev-1");
    WsClient c = constellation("t@dev-1", "dev-1");
    WsClient free = constellation("galaxy", null);
    c.send(task("t@dev-1", "dev-1", "busy", "n", "x"));
    c.nextText();
    d.nextText();
    free.send(task("galaxy", "dev-1", "busy", "n", "x"));
    assertThat(json(free.nextText()).path("type").asText()).isEqualTo("error");
    d.abort();
    await().until(() -> !agent.clients().contains("dev-1"));
    c.expectNothing(QUIET);
    assertThat(agent.runningSessions()).containsExactly("busy");
  }

  @Test
  void deviceInfoIsForConstellationsAndScopedToTheirTarget() {
    WsClient d = device("dev-1");
    device("dev-2");
    WsClient scoped = constellation("t@dev-1", "dev-1");
    WsClient free = constellation("galaxy", null);
    scoped.send(deviceInfoRequest("t@dev-1", "dev-1", "r1"));
    JsonNode info = json(scoped.nextText());
    assertThat(info.path("type").asText()).isEqualTo("device_info_response");
    assertThat(info.path("status").asText()).isEqualTo("ok");
    assertThat(info.path("response_id").asText()).isEqualTo("r1");
    assertThat(info.path("result").path("device_id").asText()).isEqualTo("dev-1");
    scoped.send(deviceInfoRequest("t@dev-1", "dev-2", "r2"));
    assertThat(json(scoped.nextText()).path("error").asText())
        .isEqualTo("Not authorized to request device info for this device");
    free.send(deviceInfoRequest("galaxy", "nobody", "r3"));
    JsonNode unknown = json(free.nextText());
    assertThat(unknown.path("status").asText()).isEqualTo("ok");
    assertThat(unknown.path("result").path("error").asText())
        .isEqualTo("Device nobody not found or no system info available");
    d.send(deviceInfoRequest("dev-1", "dev-2", "r4").replace("\"constellation\"", "\"device\""));
    assertThat(json(d.nextText()).path("error").asText())
        .isEqualTo("DEVICE_INFO_REQUEST is permitted only for constellation clients");
    d.send(
        ReferenceFrames.text(
            ReferenceClientFrames.frame("device_info_response", "ok", "device", "dev-1")));
    d.expectNothing(QUIET);
  }

  @Test
  void anUnansweredCommandTimesOutIntoFailureResultsAndTheAgentGoesOn() {
    agent.agent(AgentScript.of(CLICK.timeout(Duration.ofMillis(200)), CLICK));
    WsClient d = device("dev-1");
    d.send(deviceRequest("dev-1", "own", "x", "windows"));
    d.nextText();
    JsonNode ignored = json(d.nextText());
    JsonNode next = json(d.nextText());
    assertThat(next.path("response_id")).isNotEqualTo(ignored.path("response_id"));
    d.send(commandResults("dev-1", ignored));
    d.send(commandResults("dev-1", next));
    JsonNode end = json(d.nextText());
    JsonNode timedOut = end.path("result").get(0).path("result").get(0).get(0);
    assertThat(timedOut.path("status").asText()).isEqualTo("failure");
    assertThat(timedOut.path("error").asText())
        .contains("': , please retry or execute a different command.");
  }

  @Test
  void theKeepaliveClosesASocketThatLeavesPingsUnanswered() throws Exception {
    agent.stop();
    agent =
        ReferenceAgentServer.builder()
            .token("K")
            .keepalive(Duration.ofMillis(100), Duration.ofMillis(200))
            .build()
            .start();
    WsClient answering = connect();
    try (RawWsClient silent = RawWsClient.connect(agent.uri())) {
      RawWsClient.Frame f = silent.readFrame();
      assertThat(f.opcode()).isEqualTo(RawWsClient.PING);
      while (f.opcode() != RawWsClient.CLOSE) {
        f = silent.readFrame();
      }
      assertThat(f.closeCode()).isEqualTo(1011);
      assertThat(f.closeReason()).isEqualTo("keepalive ping timeout");
    }
    answering.expectNothing(Duration.ofMillis(500));
    assertThat(answering.isClosed()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void stoppingOrKillingDropsEverySocketWithoutACloseFrame(boolean kill) {
    WsClient d = device("dev-1");
    WsClient c = constellation("t@dev-1", "dev-1");
    c.send(task("t@dev-1", "dev-1", "t@s", "n", "x"));
    c.nextText();
    d.nextText();
    if (kill) {
      agent.kill();
    } else {
      agent.stop();
    }
    // no close frame: the JDK client reports an abnormal closure (1006) or an error (-1)
    assertThat(d.awaitClose()).isIn(1006, -1);
    assertThat(c.awaitClose()).isIn(1006, -1);
    assertThat(c.pending()).isZero();
  }

  @Test
  void theRecorderKeepsEveryFrameBothWaysPerSocket() {
    WsClient d = device("dev-1");
    d.send(heartbeat("dev-1"));
    d.nextText();
    d.close();
    agent.recorder().await(f -> f.direction() == Direction.CLOSED, Duration.ofSeconds(5));
    List<FrameRecorder.Frame> frames = agent.recorder().all();
    assertThat(frames.stream().map(f -> f.direction() + ":" + f.type()))
        .containsExactly(
            "IN:register", "OUT:heartbeat", "IN:heartbeat", "OUT:heartbeat", "CLOSED:null");
    assertThat(frames.get(0).clientId()).isNull();
    assertThat(frames.subList(1, 5)).allMatch(f -> "dev-1".equals(f.clientId()));
    assertThat(agent.recorder().receivedFrom("dev-1")).hasSize(1);
    assertThat(agent.recorder().sentTo("dev-1")).hasSize(2);
    assertThat(frames.get(4).text()).isEqualTo("1000 bye");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "register_device",
        "register_constellation",
        "duplicate_id",
        "constellation_target_rule",
        "first_frame_rules",
        "identity_pinning",
        "bad_token",
        "constellation_task",
        "device_task",
        "task_outcomes",
        "device_disconnect_mid_session",
        "owner_disconnect_mid_session",
        "command_results_filtering",
        "task_refusals",
        "unsupported_platform",
        "device_task_device_drops",
        "device_info",
        "odd_frames",
        "pipelined_order",
        "two_owners_one_device",
        "command_timeout",
        "refused_reuse_then_device_drops"
      })
  void aTranscriptRecordedAgainstTheReferenceReplaysWithTheSameFrames(String transcript) {
    assertThat(TranscriptReplay.replay(transcript, agent.uri())).isEmpty();
  }
}
