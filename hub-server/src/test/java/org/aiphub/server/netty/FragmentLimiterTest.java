package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FragmentLimiterTest {
  private final RecordingConnectionEvents events = new RecordingConnectionEvents();
  private final UserEventRecorder recorder = new UserEventRecorder(false);
  private final EmbeddedChannel channel =
      new EmbeddedChannel(new FragmentLimiter(3, events), recorder);

  private static WebSocketFrame first(boolean fin) {
    return new TextWebSocketFrame(fin, 0, Unpooled.copiedBuffer("{", UTF_8));
  }

  private static WebSocketFrame more(boolean fin) {
    return new ContinuationWebSocketFrame(fin, 0, Unpooled.EMPTY_BUFFER);
  }

  private List<Object> passed() {
    List<Object> out = new ArrayList<>();
    for (Object o; (o = channel.readInbound()) != null; ) {
      out.add(o);
    }
    out.forEach(io.netty.util.ReferenceCountUtil::release);
    return out;
  }

  @Test
  void messagesUpToTheLimitPassAndTheCountStartsAgainForEach() {
    for (int round = 0; round < 3; round++) {
      channel.writeInbound(first(false), more(false), new PingWebSocketFrame(), more(true));
      channel.writeInbound(new BinaryWebSocketFrame(), first(true));
      assertThat(passed()).hasSize(6);
    }
    assertThat(recorder.closeRequests()).isEmpty();
    assertThat(events.lines()).isEmpty();
    assertFalse(channel.finish());
  }

  @Test
  void oneFragmentTooManyClosesWith1009AndDropsEverythingAfter() {
    WebSocketFrame fourth =
        new ContinuationWebSocketFrame(false, 0, Unpooled.copiedBuffer("x", UTF_8));
    channel.writeInbound(first(false), more(false), more(false), fourth);

    assertThat(passed()).hasSize(3);
    assertThat(fourth.refCnt()).as("released").isZero();
    assertThat(recorder.closeRequests())
        .containsExactly(
            new CloseRequest(
                CloseCodes.MESSAGE_TOO_BIG,
                "message in more than 3 fragments (max_fragments_per_message)",
                false));
    assertThat(events.lines()).containsExactly("limitExceeded max_fragments_per_message");

    // The client goes on: nothing more is read or reported, whatever it sends.
    WebSocketFrame later = first(true);
    WebSocketFrame afterwards =
        new ContinuationWebSocketFrame(true, 0, Unpooled.buffer(1).writeByte(1));
    channel.writeInbound(more(false), afterwards, later, new PingWebSocketFrame());
    assertThat(passed()).isEmpty();
    assertThat(later.refCnt()).isZero();
    assertThat(afterwards.refCnt()).isZero();
    assertThat(recorder.closeRequests()).hasSize(1);
    assertThat(events.lines()).hasSize(1);
    assertFalse(channel.finish());
  }
}
