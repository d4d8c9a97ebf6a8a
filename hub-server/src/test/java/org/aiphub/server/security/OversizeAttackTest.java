package org.aiphub.server.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.aiphub.server.config.Settings.MAX_BODY_BYTES;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.RawHttp;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 10: oversized input. A WebSocket message over {@code max_frame_bytes} (in one frame, in a
 * frame whose header only announces a huge length, or in fragments that each fit but add up past
 * it) closes the connection with 1009 and cleans the client up, registered or not; an HTTP body
 * over {@code max_body_bytes} gets a 413 with a JSON reason, whether its length is declared,
 * announced with {@code Expect: 100-continue} or chunked; over-long HTTP heads are refused too.
 */
class OversizeAttackTest {
  private static final int FRAME_LIMIT = 64 * 1024;
  private static final int BODY_LIMIT = 16 * 1024;
  private static final String MALLORY_DEV = "mallory-dev";

  private static Arena arena() {
    return Arena.start(b -> b.set(MAX_FRAME_BYTES, FRAME_LIMIT).set(MAX_BODY_BYTES, BODY_LIMIT));
  }

  @Test
  void aFrameOverTheLimitClosesWith1009AndFailsTheSendersSessions() {
    try (Arena a = arena()) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      WsClient owner = a.constellation("mallory-galaxy");
      owner.send(Frames.task("mallory-galaxy", MALLORY_DEV, "m-1", "work"));
      assertThat(owner.next().sessionId()).isEqualTo("m-1");
      assertThat(s.readFrame().message().sessionId()).isEqualTo("m-1");

      s.write(RawSocket.text(padded(Frames.heartbeat(MALLORY_DEV), FRAME_LIMIT + 1)));
      assertClosedWith(s, CloseCodes.MESSAGE_TOO_BIG);
      ServerMessage failed = owner.next();
      assertThat(failed.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(failed.error()).isEqualTo("device_disconnected");
      assertThat(a.registry().isOnline(MALLORY_DEV)).isFalse();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aFrameHeaderAnnouncingAHugeLengthIsRefusedBeforeAnyPayload() {
    try (Arena a = arena()) {
      for (long declared : new long[] {FRAME_LIMIT + 1L, 1L << 31, 1L << 62}) {
        RawSocket s = a.rawDevice(MALLORY_DEV);
        s.write(RawSocket.frame(RawWsClient.TEXT, true, "{\"type\":".getBytes(UTF_8), declared));
        assertClosedWith(s, CloseCodes.MESSAGE_TOO_BIG);
        await().until(() -> !a.registry().isOnline(MALLORY_DEV));
      }
      // Before registration too.
      RawSocket s = upgraded(a);
      s.write(RawSocket.frame(RawWsClient.BINARY, true, new byte[16], 1L << 40));
      assertClosedWith(s, CloseCodes.MESSAGE_TOO_BIG);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void fragmentsAddingUpPastTheLimitCloseWith1009() {
    try (Arena a = arena()) {
      // Two large fragments, each under the limit.
      RawSocket s = a.rawDevice(MALLORY_DEV);
      String frame = padded(Frames.heartbeat(MALLORY_DEV), FRAME_LIMIT + 4096);
      int half = frame.length() / 2;
      s.write(RawSocket.frame(RawWsClient.TEXT, false, frame.substring(0, half).getBytes(UTF_8)));
      s.write(
          RawSocket.frame(RawWsClient.CONTINUATION, true, frame.substring(half).getBytes(UTF_8)));
      assertClosedWith(s, CloseCodes.MESSAGE_TOO_BIG);
      await().until(() -> !a.registry().isOnline(MALLORY_DEV));

      // A stream of tiny fragments that never ends, before registration.
      RawSocket t = upgraded(a);
      byte[] piece = ClientFrames.filler(100).getBytes(UTF_8);
      t.write(
          RawSocket.frame(
              RawWsClient.TEXT, false, "{\"type\":\"register\",\"x\":\"".getBytes(UTF_8)));
      boolean open = true;
      for (int i = 0; i < 2 * FRAME_LIMIT / piece.length && open; i++) {
        open = t.tryWrite(RawSocket.frame(RawWsClient.CONTINUATION, false, piece));
      }
      assertClosedWith(t, CloseCodes.MESSAGE_TOO_BIG);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aFrameOfExactlyTheLimitIsStillServed() {
    try (Arena a = arena()) {
      RawSocket s = a.rawDevice(MALLORY_DEV);
      s.write(RawSocket.text(padded(Frames.heartbeat(MALLORY_DEV), FRAME_LIMIT)));
      ServerMessage ack = s.readFrame().message();
      assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void httpBodiesOverTheLimitGet413AndDispatchNothing() throws Exception {
    try (Arena a = arena()) {
      Arena.Bookkeeping before = a.bookkeeping();
      String body =
          HubHttp.write(
              Map.of(
                  "client_id",
                  Arena.DEVICE,
                  "request",
                  ClientFrames.filler(BODY_LIMIT),
                  "task_name",
                  "too_big"));
      byte[] bytes = body.getBytes(UTF_8);
      assertThat(bytes.length).isGreaterThan(BODY_LIMIT);

      HubHttp.Reply declared = a.http().post("/api/dispatch", body);
      assertThat(declared.error(413)).contains("max_body_bytes");

      RawHttp.Exchange expect = RawHttp.post(a.hub().port(), "/api/dispatch", bytes, true);
      assertThat(expect.bodySent()).as("the body is never asked for").isFalse();
      assertThat(expect.last().status()).isEqualTo(413);
      assertThat(HubHttp.object(expect.last().body()).get("error").toString())
          .contains("max_body_bytes");

      // A length of a terabyte, announced but never sent: refused at once.
      RawSocket s = a.socket();
      s.write(
          "POST /api/dispatch HTTP/1.1\r\n"
              + RawSocket.host(a.hub())
              + "\r\nX-API-Key: "
              + TestHub.KEY
              + "\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n{");
      assertThat(s.readReply().error(413)).contains("max_body_bytes");
      assertThat(s.closedByHub()).isTrue();

      // A chunked body without any declared length, past the limit.
      RawSocket c = a.socket();
      c.write(
          "POST /api/dispatch HTTP/1.1\r\n"
              + RawSocket.host(a.hub())
              + "\r\nX-API-Key: "
              + TestHub.KEY
              + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
      int chunk = 4096;
      boolean open = true;
      for (int at = 0; at < bytes.length && open; at += chunk) {
        int n = Math.min(chunk, bytes.length - at);
        byte[] head = (Integer.toHexString(n) + "\r\n").getBytes(UTF_8);
        byte[] part = new byte[head.length + n + 2];
        System.arraycopy(head, 0, part, 0, head.length);
        System.arraycopy(bytes, at, part, head.length, n);
        part[part.length - 2] = '\r';
        part[part.length - 1] = '\n';
        open = c.tryWrite(part);
      }
      c.tryWrite("0\r\n\r\n".getBytes(UTF_8));
      assertThat(c.readReply().error(413)).contains("max_body_bytes");

      assertThat(a.sessions().latestDispatched("too_big")).isEmpty();
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void overlongRequestLinesAndHeadersAreRefusedWithAJsonError() {
    try (Arena a = arena()) {
      String longPath = "/api/devices/" + ClientFrames.filler(20_000);
      String[] requests = {
        RawSocket.get(longPath, RawSocket.host(a.hub()), "X-API-Key: " + TestHub.KEY),
        RawSocket.get(
            "/api/clients",
            RawSocket.host(a.hub()),
            "X-API-Key: " + TestHub.KEY,
            "Cookie: " + ClientFrames.filler(20_000)),
        RawSocket.upgrade(
            RawSocket.wsTarget(), RawSocket.host(a.hub()), "X-Pad: " + ClientFrames.filler(20_000))
      };
      for (String request : requests) {
        RawSocket s = a.socket();
        s.write(request);
        RawSocket.Reply r = s.readReply();
        assertThat(r.status()).as("%s", r).isBetween(400, 499);
        assertThat(r.error(r.status())).isNotBlank();
        assertThat(s.closedByHub()).isTrue();
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  private static RawSocket upgraded(Arena a) {
    RawSocket s = a.socket();
    s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
    assertThat(s.readReply().status()).isEqualTo(101);
    return s;
  }

  /**
   * The hub's next frame (after any text frames) closes with {@code code}, then the stream ends.
   */
  private static void assertClosedWith(RawSocket s, int code) {
    RawWsClient.Frame f = s.readFrame();
    while (f != null && f.opcode() == RawWsClient.TEXT) {
      f = s.readFrame();
    }
    assertThat(f).as("a close frame").isNotNull();
    assertThat(f.opcode()).isEqualTo(RawWsClient.CLOSE);
    assertThat(f.closeCode()).isEqualTo(code);
    assertThat(s.closedByHub()).isTrue();
  }

  /** {@code json} (an object) with an ignored padding field, exactly {@code bytes} long. */
  private static String padded(String json, int bytes) {
    String open = json.substring(0, json.length() - 1) + ",\"padding\":\"";
    String close = "\"}";
    String s = open + ClientFrames.filler(bytes - open.length() - close.length()) + close;
    assertThat(s.getBytes(UTF_8)).hasSize(bytes);
    return s;
  }
}
