package org.aiphub.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.RawWsClient.Frame;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The close handshake against RFC 6455 as Autobahn's section 7 checks it, on the hub's real
 * pipeline and in the normal test run (the full Autobahn run is the {@code autobahn} profile): a
 * broken close frame gets exactly one close frame back, with a protocol-error code (1007 for a
 * reason that is not UTF-8) and never a normal {@code 1000}, and a good one is echoed exactly once.
 */
class WebSocketCloseConformanceEndToEndTest {
  private static RawWsClient registered(TestHub hub) {
    RawWsClient c = RawWsClient.connect(hub.wsUri());
    c.sendText(ClientFrames.registerDevice("dev-1"));
    Clients.assertRegistered(c.readMessage());
    return c;
  }

  private static List<Frame> closeFrames(RawWsClient c) {
    return c.readUntilEof().stream().filter(f -> f.opcode() == RawWsClient.CLOSE).toList();
  }

  @ParameterizedTest(name = "close code {0}")
  @ValueSource(ints = {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999})
  void aCloseFrameWithAnInvalidCodeGetsExactlyOneProtocolError(int code) {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      c.sendClose(code);
      List<Frame> closes = closeFrames(c);
      // A close frame, not a bare TCP close (RFC 6455 7.4.1: 1005 and 1006 never go on the wire).
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(1002);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> !hub.server().registry().isOnline("dev-1"));
    }
  }

  @Test
  void aCloseFrameWithAOneBytePayloadGetsExactlyOneProtocolError() {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      c.sendFrame(RawWsClient.CLOSE, true, new byte[] {0x03});
      List<Frame> closes = closeFrames(c);
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(1002);
    }
  }

  @Test
  void aControlFrameOver125BytesGetsExactlyOneProtocolError() {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      byte[] payload = new byte[126];
      payload[0] = 0x03;
      payload[1] = (byte) 0xe8; // 1000, then a reason that is too long
      for (int i = 2; i < payload.length; i++) {
        payload[i] = 'x';
      }
      c.sendFrame(RawWsClient.CLOSE, true, payload);
      List<Frame> closes = closeFrames(c);
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(1002);
    }
  }

  @Test
  void aCloseReasonThatIsNotUtf8GetsExactlyOne1007() {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      c.sendFrame(
          RawWsClient.CLOSE,
          true,
          new byte[] {0x03, (byte) 0xe8, (byte) 0xce, (byte) 0xba, (byte) 0xff});
      List<Frame> closes = closeFrames(c);
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(CloseCodes.INVALID_PAYLOAD); // RFC 6455 8.1
    }
  }

  @Test
  void aTextFrameThatIsNotUtf8GetsExactlyOne1007() {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      c.sendFrame(RawWsClient.TEXT, true, new byte[] {(byte) 0xce, (byte) 0xba, (byte) 0xff});
      List<Frame> closes = closeFrames(c);
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(CloseCodes.INVALID_PAYLOAD);
    }
  }

  @ParameterizedTest(name = "close code {0}")
  @ValueSource(ints = {1000, 1001, 3000, 4999})
  void aGoodCloseIsEchoedExactlyOnce(int code) {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      c.sendFrame(
          RawWsClient.CLOSE,
          true,
          concat(
              new byte[] {(byte) (code >> 8), (byte) code},
              "bye".getBytes(StandardCharsets.UTF_8)));
      List<Frame> closes = closeFrames(c);
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(code);
    }
  }

  @ParameterizedTest(name = "close code {0}")
  @ValueSource(ints = {5000, 65535})
  void aCloseCodeAboveTheValidRangesIsAnsweredWithAProtocolError(int code) {
    try (TestHub hub = TestHub.start();
        RawWsClient c = registered(hub)) {
      c.sendFrame(RawWsClient.CLOSE, true, new byte[] {(byte) (code >> 8), (byte) code});
      List<Frame> closes = closeFrames(c);
      assertThat(closes).hasSize(1);
      assertThat(closes.get(0).closeCode()).isEqualTo(1002);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
