package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.TaskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class IdentityPinningTest {
  private static final Identity DEVICE = new Identity("d1", ClientType.DEVICE, null);
  private static final Identity CONSTELLATION =
      new Identity("weekly_report@device_windows_001", ClientType.CONSTELLATION, "d1");

  private static ClientMessage frame(ClientMessageType type, ClientType clientType, String id) {
    return ClientMessage.builder(type, TaskStatus.OK).clientType(clientType).clientId(id).build();
  }

  @ParameterizedTest
  @EnumSource(ClientMessageType.class)
  void aFrameWithTheBoundIdentityMatches(ClientMessageType type) {
    assertThat(IdentityPinning.mismatch(DEVICE, frame(type, ClientType.DEVICE, "d1"))).isNull();
    assertThat(
            IdentityPinning.mismatch(
                CONSTELLATION, frame(type, ClientType.CONSTELLATION, CONSTELLATION.clientId())))
        .isNull();
  }

  @ParameterizedTest
  @EnumSource(ClientMessageType.class)
  void anAbsentClientIdIsNotAMismatch(ClientMessageType type) {
    assertThat(IdentityPinning.mismatch(DEVICE, frame(type, ClientType.DEVICE, null))).isNull();
  }

  @ParameterizedTest
  @EnumSource(ClientMessageType.class)
  void anotherClientIdIsAlwaysAMismatchHeartbeatsIncluded(ClientMessageType type) {
    String why = IdentityPinning.mismatch(DEVICE, frame(type, ClientType.DEVICE, "d2"));

    assertThat(why).isEqualTo("client_id 'd2' does not match the registered id 'd1'");
  }

  @ParameterizedTest
  @EnumSource(value = ClientMessageType.class, names = "HEARTBEAT", mode = EnumSource.Mode.EXCLUDE)
  void anotherClientTypeIsAMismatchForEveryTypeButHeartbeat(ClientMessageType type) {
    assertThat(
            IdentityPinning.mismatch(
                CONSTELLATION, frame(type, ClientType.DEVICE, CONSTELLATION.clientId())))
        .isEqualTo("client_type 'device' does not match the registered type 'constellation'");
    assertThat(IdentityPinning.mismatch(DEVICE, frame(type, ClientType.CONSTELLATION, "d1")))
        .isEqualTo("client_type 'constellation' does not match the registered type 'device'");
  }

  @Test
  void aConstellationHeartbeatSayingDeviceIsAccepted() {
    assertThat(
            IdentityPinning.mismatch(
                CONSTELLATION,
                frame(ClientMessageType.HEARTBEAT, ClientType.DEVICE, CONSTELLATION.clientId())))
        .isNull();
    // and the other way round: a heartbeat grants nothing either way
    assertThat(
            IdentityPinning.mismatch(
                DEVICE, frame(ClientMessageType.HEARTBEAT, ClientType.CONSTELLATION, "d1")))
        .isNull();
  }

  @Test
  void galaxysRealConstellationHeartbeatIsAccepted() throws Exception {
    ClientMessage m = new AipCodec().decodeClient(fixture("client-heartbeat-constellation.json"));
    assertThat(m.clientType()).isEqualTo(ClientType.DEVICE);

    assertThat(IdentityPinning.mismatch(CONSTELLATION, m)).isNull();
  }

  @Test
  void theClientIdInTheReasonIsQuotedSafely() {
    String why =
        IdentityPinning.mismatch(DEVICE, frame(ClientMessageType.TASK, ClientType.DEVICE, "x'\n"));

    assertThat(why).startsWith("client_id 'x\\u0027\\u000a' does not match");
  }

  private static String fixture(String name) throws IOException {
    try (InputStream in = IdentityPinningTest.class.getResourceAsStream("/aip-fixtures/" + name)) {
      assertThat(in).as("fixture %s", name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    }
  }
}
