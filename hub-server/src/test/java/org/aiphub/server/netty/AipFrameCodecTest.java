package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AipFrameCodecTest {
  private static final String REGISTER =
      "{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\"d1\"}";

  private static ResourceLeakDetector.Level previousLevel;

  private final AipCodec codec = new AipCodec();
  private final EmbeddedChannel channel = new EmbeddedChannel(new AipFrameCodec(codec));

  @BeforeAll
  static void paranoidLeakDetection() {
    previousLevel = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @AfterAll
  static void restoreLeakDetection() {
    ResourceLeakDetector.setLevel(previousLevel);
  }

  private ClientMessage decodeOne(WebSocketFrame frame) {
    assertTrue(channel.writeInbound(frame));
    Object out = channel.readInbound();
    assertThat(out).isInstanceOf(ClientMessage.class);
    assertThat(frame.refCnt()).as("the frame is released").isZero();
    assertThat(channel.<Object>readInbound()).isNull();
    return (ClientMessage) out;
  }

  private FrameRejected rejectOne(WebSocketFrame frame) {
    assertTrue(channel.writeInbound(frame));
    Object out = channel.readInbound();
    assertThat(out).isInstanceOf(FrameRejected.class);
    assertThat(frame.refCnt()).as("the frame is released").isZero();
    return (FrameRejected) out;
  }

  @Test
  void aTextFrameBecomesAClientMessage() {
    ClientMessage m = decodeOne(new TextWebSocketFrame(REGISTER));

    assertThat(m.type()).isEqualTo(ClientMessageType.REGISTER);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.clientType()).isEqualTo(ClientType.DEVICE);
    assertThat(m.clientId()).isEqualTo("d1");
    assertFalse(channel.finish());
  }

  @Test
  void theReferenceClientsRegistrationFrameDecodes() throws IOException {
    String fixture;
    try (InputStream in =
        getClass().getResourceAsStream("/aip-fixtures/client-register-device.json")) {
      assertThat(in).isNotNull();
      fixture = new String(in.readAllBytes(), UTF_8).strip();
    }

    ClientMessage m = decodeOne(new TextWebSocketFrame(fixture));

    assertThat(m.clientId()).isEqualTo("device_windows_001");
    assertThat(m.metadata()).containsEntry("platform", "windows").containsKey("system_info");
    assertFalse(channel.finish());
  }

  @Test
  void aBinaryFrameOnAHeapBufferBecomesAClientMessage() {
    ClientMessage m = decodeOne(new BinaryWebSocketFrame(Unpooled.copiedBuffer(REGISTER, UTF_8)));

    assertThat(m.clientId()).isEqualTo("d1");
    assertFalse(channel.finish());
  }

  @Test
  void aBinaryFrameOnADirectBufferBecomesAClientMessage() {
    ByteBuf direct = Unpooled.directBuffer();
    direct.writeBytes(REGISTER.getBytes(UTF_8));
    assertThat(direct.hasArray()).isFalse();

    ClientMessage m = decodeOne(new BinaryWebSocketFrame(direct));

    assertThat(m.clientId()).isEqualTo("d1");
    assertFalse(channel.finish());
  }

  @Test
  void onlyTheReadableBytesOfAHeapBufferAreDecoded() {
    byte[] json = REGISTER.getBytes(UTF_8);
    byte[] padded = new byte[json.length + 20];
    java.util.Arrays.fill(padded, (byte) '#');
    System.arraycopy(json, 0, padded, 10, json.length);
    // a buffer whose readable bytes start at reader index 10
    ByteBuf moved = Unpooled.wrappedBuffer(padded);
    moved.readerIndex(10).writerIndex(10 + json.length);
    // and a slice whose array offset is 10
    ByteBuf slice = Unpooled.wrappedBuffer(padded, 10, json.length);
    assertThat(slice.arrayOffset()).isEqualTo(10);

    assertThat(decodeOne(new TextWebSocketFrame(moved)).clientId()).isEqualTo("d1");
    assertThat(decodeOne(new BinaryWebSocketFrame(slice)).clientId()).isEqualTo("d1");
    assertFalse(channel.finish());
  }

  @Test
  void aFrameSpreadOverSeveralBuffersDecodes() {
    byte[] json = REGISTER.getBytes(UTF_8);
    CompositeByteBuf composite = Unpooled.compositeBuffer();
    composite.addComponent(true, Unpooled.wrappedBuffer(json, 0, 20));
    composite.addComponent(true, Unpooled.directBuffer().writeBytes(json, 20, json.length - 20));

    assertThat(decodeOne(new TextWebSocketFrame(composite)).clientId()).isEqualTo("d1");
    assertFalse(channel.finish());
  }

  @Test
  void nonAsciiTextSurvives() {
    ClientMessage m =
        decodeOne(
            new TextWebSocketFrame(
                "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_id\":\"设备-ü\"}"));

    assertThat(m.clientId()).isEqualTo("设备-ü");
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "not json|MALFORMED_JSON",
        "``|EMPTY",
        "[1,2]|NOT_AN_OBJECT",
        "{\"status\":\"ok\"}|MISSING_FIELD",
        "{\"type\":\"launch\",\"status\":\"ok\"}|UNKNOWN_ENUM",
        "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_id\":5}|WRONG_TYPE",
        "{\"type\":\"heartbeat\",\"status\":\"ok\"} {}|TRAILING_DATA"
      })
  void anUndecodableFrameBecomesFrameRejectedWithItsReason(
      String text, AipDecodeException.Reason reason) {
    byte[] bytes = text.getBytes(UTF_8);
    // an allocated buffer even for "": the shared empty buffer is never released
    FrameRejected r =
        rejectOne(new TextWebSocketFrame(Unpooled.buffer(bytes.length + 1).writeBytes(bytes)));

    assertThat(r.reason().reason()).isEqualTo(reason);
    assertThat(r.reason().getMessage()).isNotBlank();
    assertFalse(channel.finish());
  }

  @Test
  void aBinaryFrameThatIsNotUtf8IsRejected() {
    byte[] bad = {'{', '"', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};

    FrameRejected r = rejectOne(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bad)));

    assertThat(r.reason().reason()).isEqualTo(AipDecodeException.Reason.INVALID_UTF8);
    assertFalse(channel.finish());
  }

  @Test
  void theMissingFieldIsNamed() {
    FrameRejected r = rejectOne(new TextWebSocketFrame("{\"type\":\"heartbeat\"}"));

    assertThat(r.reason().getMessage()).isEqualTo("missing required field 'status'");
    assertFalse(channel.finish());
  }

  @Test
  void aCloseFramePassesThroughRetained() {
    CloseWebSocketFrame close = new CloseWebSocketFrame(1000, "bye");

    assertTrue(channel.writeInbound(close));

    Object out = channel.readInbound();
    assertThat(out).isSameAs(close);
    assertThat(close.refCnt()).isEqualTo(1);
    assertThat(close.statusCode()).isEqualTo(1000);
    assertThat(close.reasonText()).isEqualTo("bye");
    close.release();
    assertFalse(channel.finish());
  }

  @Test
  void pongsPingsAndStrayContinuationsAreDroppedAndReleased() {
    PongWebSocketFrame pong = new PongWebSocketFrame(Unpooled.copiedBuffer("p", UTF_8));
    PingWebSocketFrame ping = new PingWebSocketFrame(Unpooled.copiedBuffer("p", UTF_8));
    ContinuationWebSocketFrame cont =
        new ContinuationWebSocketFrame(Unpooled.copiedBuffer("x", UTF_8));

    assertFalse(channel.writeInbound(pong, ping, cont));

    assertThat(pong.refCnt()).isZero();
    assertThat(ping.refCnt()).isZero();
    assertThat(cont.refCnt()).isZero();
    assertFalse(channel.finish());
  }

  @Test
  void aServerMessageBecomesACompactJsonTextFrame() {
    ServerMessage m =
        ServerMessage.builder(ServerMessageType.TASK_END, TaskStatus.COMPLETED)
            .sessionId("s1")
            .responseId("r1")
            .result(Map.of("rows", List.of(1, 2)))
            .build();

    assertTrue(channel.writeOutbound(m));

    Object out = channel.readOutbound();
    assertThat(out).isInstanceOf(TextWebSocketFrame.class);
    TextWebSocketFrame frame = (TextWebSocketFrame) out;
    try {
      assertThat(frame.isFinalFragment()).isTrue();
      assertThat(frame.text())
          .isEqualTo(
              "{\"type\":\"task_end\",\"status\":\"completed\",\"session_id\":\"s1\","
                  + "\"response_id\":\"r1\",\"result\":{\"rows\":[1,2]}}");
      assertThat(frame.text()).isEqualTo(codec.encodeToString(m));
    } finally {
      frame.release();
    }
    assertThat(frame.refCnt()).isZero();
    assertFalse(channel.finish());
  }

  @Test
  void nonAsciiIsEncodedAsUtf8() {
    ServerMessage m =
        ServerMessage.builder(ServerMessageType.ERROR, TaskStatus.ERROR).error("设备 ü").build();

    assertTrue(channel.writeOutbound(m));

    TextWebSocketFrame frame = channel.readOutbound();
    try {
      assertThat(frame.text())
          .isEqualTo("{\"type\":\"error\",\"status\":\"error\",\"error\":\"设备 ü\"}");
    } finally {
      frame.release();
    }
    assertFalse(channel.finish());
  }

  @Test
  void oneInstanceServesManyChannels() {
    AipFrameCodec shared = new AipFrameCodec(codec);
    EmbeddedChannel a = new EmbeddedChannel(shared);
    EmbeddedChannel b = new EmbeddedChannel(shared);

    assertTrue(a.writeInbound(new TextWebSocketFrame(REGISTER)));
    assertTrue(b.writeInbound(new TextWebSocketFrame("nope")));

    assertThat(a.<Object>readInbound()).isInstanceOf(ClientMessage.class);
    assertThat(b.<Object>readInbound()).isInstanceOf(FrameRejected.class);
    assertFalse(a.finish());
    assertFalse(b.finish());
    assertFalse(channel.finish());
  }
}
