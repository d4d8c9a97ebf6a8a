package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MessagesTest {
  private static final Instant NOW = Instant.parse("2026-11-25T14:30:22.483Z");
  private static final String STAMP = "2026-11-25T14:30:22.483000+00:00";
  private static final Pattern UUID_V4 =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

  private final Messages messages = new Messages(Clock.fixed(NOW, ZoneOffset.UTC));

  private static Session finished(SessionState state, Object result, String error) {
    return new Session(
        "s1",
        1,
        "c1",
        "d1",
        "galaxy/t1",
        "Open Excel",
        state,
        NOW.minusSeconds(5),
        state.isFinal() ? NOW : null,
        result,
        error,
        false);
  }

  private static void assertStamped(ServerMessage m) {
    assertThat(m.timestamp()).isEqualTo(STAMP);
    assertThat(m.responseId()).matches(UUID_V4);
  }

  @Test
  void heartbeatOkIsTheRegistrationReply() {
    ServerMessage m = messages.heartbeatOk();

    assertThat(m.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.sessionId()).isNull();
    assertThat(m.error()).isNull();
    assertStamped(m);
    String json = new AipCodec().encodeToString(m);
    assertThat(json)
        .isEqualTo(
            "{\"type\":\"heartbeat\",\"status\":\"ok\",\"timestamp\":\""
                + STAMP
                + "\",\"response_id\":\""
                + m.responseId()
                + "\"}");
  }

  @Test
  void everyMessageGetsItsOwnResponseId() {
    assertThat(messages.heartbeatOk().responseId())
        .isNotEqualTo(messages.heartbeatOk().responseId());
  }

  @Test
  void taskAcceptedNamesTheSession() {
    ServerMessage m = messages.taskAccepted("t1@task-7");

    assertThat(m.type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.sessionId()).isEqualTo("t1@task-7");
    assertStamped(m);
  }

  @Test
  void errorsCarryTheirReasonAndOptionallyTheSession() {
    ServerMessage plain = messages.error("bad");
    ServerMessage withSession = messages.error("worse", "s9");

    assertThat(plain.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(plain.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(plain.error()).isEqualTo("bad");
    assertThat(plain.sessionId()).isNull();
    assertStamped(plain);
    assertThat(withSession.error()).isEqualTo("worse");
    assertThat(withSession.sessionId()).isEqualTo("s9");
    assertStamped(withSession);
  }

  @Test
  void taskForDeviceCarriesTheRequest() {
    ServerMessage m =
        messages.taskForDevice(finished(SessionState.RUNNING, null, null), "Open Excel, whole");

    assertThat(m.type()).isEqualTo(ServerMessageType.TASK);
    assertThat(m.status()).isEqualTo(TaskStatus.CONTINUE);
    assertThat(m.userRequest()).as("as received, not as kept").isEqualTo("Open Excel, whole");
    assertThat(m.taskName()).isEqualTo("galaxy/t1");
    assertThat(m.sessionId()).isEqualTo("s1");
    assertThat(m.result()).isNull();
    assertStamped(m);
  }

  @ParameterizedTest
  @CsvSource({"COMPLETED,COMPLETED", "FAILED,FAILED", "CANCELLED,FAILED"})
  void taskEndMapsTheSessionOutcomeToAWireStatus(SessionState state, TaskStatus wire) {
    ServerMessage m = messages.taskEnd(finished(state, Map.of("ok", true), "why"));

    assertThat(m.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(wire);
    assertThat(m.sessionId()).isEqualTo("s1");
    assertThat(m.taskName()).isEqualTo("galaxy/t1");
    assertThat(m.result()).isEqualTo(Map.of("ok", true));
    assertThat(m.error()).isEqualTo("why");
    assertStamped(m);
  }

  @Test
  void cancelForDeviceIsAFailedTaskEnd() {
    ServerMessage m = messages.cancelForDevice("s1", "constellation_disconnected");

    assertThat(m.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(m.sessionId()).isEqualTo("s1");
    assertThat(m.error()).isEqualTo("constellation_disconnected");
    assertStamped(m);
  }

  @Test
  void taskRefusedIsAFailedTaskEndWithTheReasonAndNothingElse() {
    ServerMessage m = messages.taskRefused("tn@t1", "target device 'devB' is not connected");

    assertThat(m.type()).isEqualTo(ServerMessageType.TASK_END);
    assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(m.sessionId()).isEqualTo("tn@t1");
    assertThat(m.error()).isEqualTo("target device 'devB' is not connected");
    assertThat(m.taskName()).isNull();
    assertThat(m.result()).isNull();
    assertStamped(m);
  }

  @Test
  void deviceInfoAnswersUnderTheRequestId() {
    ServerMessage m = messages.deviceInfo("req-1", Map.of("os", "windows"));

    assertThat(m.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.responseId()).isEqualTo("req-1");
    assertThat(m.result()).isEqualTo(Map.of("os", "windows"));
    assertThat(m.timestamp()).isEqualTo(STAMP);
    assertThat(messages.deviceInfo(null, Map.of()).responseId()).matches(UUID_V4);
  }

  @Test
  void deviceInfoErrorAnswersUnderTheRequestId() {
    ServerMessage m = messages.deviceInfoError("req-2", "device 'x' is not connected");

    assertThat(m.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
    assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(m.responseId()).isEqualTo("req-2");
    assertThat(m.error()).isEqualTo("device 'x' is not connected");
    assertThat(m.result()).isNull();
    assertThat(messages.deviceInfoError(null, "x").responseId()).matches(UUID_V4);
  }

  @Test
  void idsAreVersion4Rfc4122UuidStrings() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = Ids.uuid();
      assertThat(id).matches(UUID_V4);
      UUID u = UUID.fromString(id);
      assertThat(u.version()).isEqualTo(4);
      assertThat(u.variant()).isEqualTo(2);
      assertThat(u.toString()).isEqualTo(id);
      seen.add(id);
    }
    assertThat(seen).hasSize(10_000);
  }

  @Test
  void idsUseAllTheirRandomBits() {
    // every random bit position (122 of 128) must take both values across many ids
    long hiOr = 0;
    long hiAnd = -1;
    long loOr = 0;
    long loAnd = -1;
    for (int i = 0; i < 2_000; i++) {
      UUID u = UUID.fromString(Ids.uuid());
      hiOr |= u.getMostSignificantBits();
      hiAnd &= u.getMostSignificantBits();
      loOr |= u.getLeastSignificantBits();
      loAnd &= u.getLeastSignificantBits();
    }
    long hiFixed = 0xF000L; // version nibble
    long loFixed = 0xC000L << 48; // variant bits
    assertThat(hiOr | hiFixed).isEqualTo(-1L);
    assertThat(hiAnd & ~hiFixed).isZero();
    assertThat(loOr | loFixed).isEqualTo(-1L);
    assertThat(loAnd & ~loFixed).isZero();
  }
}
