package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;

/**
 * Attack 5 of issue 13: the AIP path in another spelling. The guard once decoded {@code
 * /w%73?token=KEY} to {@code /ws} and installed the WebSocket handlers, while Netty's handshaker
 * compared the raw URI and let the request by: no answer, a socket held until the idle timeout, and
 * a second request on it upgraded without a key, with any Host and Origin and WebSocket version 8.
 * One decision ({@code RequestTarget}) now names the AIP endpoint for every check: its path spelled
 * exactly {@code /ws}. Another spelling of it gets a 400 JSON error and the socket closes; nothing
 * sent after an upgrade request is ever read as HTTP again: after a refusal the socket closes,
 * after an accepted upgrade it is WebSocket data, and an HTTP request there closes the connection
 * with 1002.
 */
class PathEncodingAttackTest {
  private static final String KEY = TestHub.KEY;

  /** Spellings that decode to the AIP path but are not it. */
  private static final List<String> OTHER_SPELLINGS =
      List.of(
          "/w%73?token=" + KEY,
          "/%77s?token=" + KEY,
          "/%77%73?token=" + KEY,
          "/ws#x?token=" + KEY,
          "/w%73",
          "/w%73?token=wrong");

  /** An upgrade that skips every check: no key, a foreign Host and Origin, version 8. */
  private static String evilUpgrade() {
    return RawSocket.upgrade("/ws", "Host: evil.example", "Origin: https://evil.example")
        .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
  }

  @Test
  void anotherSpellingOfTheAipPathGets400AndTheSocketCloses() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      for (String target : OTHER_SPELLINGS) {
        RawSocket s = a.socket().timeout(5_000);
        s.write(RawSocket.upgrade(target, RawSocket.host(a.hub())));
        RawSocket.Reply r = s.readReply();
        assertThat(r.error(400)).as(target).contains("/ws").contains("escape");
        assertThat(r.headers()).as(target).doesNotContainKeys("upgrade", "sec-websocket-accept");
        assertThat(r.headers()).as(target).containsEntry("connection", "close");
        // Closed at once, not held until an idle timeout; nothing after it is read.
        s.tryWrite(RawSocket.text(ClientFrames.registerDevice("intruder")));
        assertThat(s.closedByHub()).as("closed after the 400 for %s", target).isTrue();
      }
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_request"))
          .isEqualTo(OTHER_SPELLINGS.size());
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void anUpgradePipelinedBehindAnEncodedOneIsNeverServed() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      RawSocket s = a.socket().timeout(5_000);
      s.write(
          RawSocket.upgrade("/w%73?token=" + KEY, RawSocket.host(a.hub()))
              + evilUpgrade()
              + RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
      s.tryWrite(RawSocket.text(ClientFrames.registerDevice("intruder")));
      String all = new String(s.readToEnd(), StandardCharsets.ISO_8859_1);
      assertThat(all)
          .startsWith("HTTP/1.1 400 ")
          .doesNotContain(" 101 ")
          .doesNotContain("upgrade:");
      assertThat(all.split("HTTP/1.1 ", -1)).as("one answer: %s", all).hasSize(2);
      assertThat(a.registry().isOnline("intruder")).isFalse();
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void anUpgradePipelinedBehindARefusedOneIsNeverServed() {
    try (Arena a = Arena.start()) {
      RawSocket s = a.socket().timeout(5_000);
      s.write(
          RawSocket.upgrade("/ws", RawSocket.host(a.hub()))
              + RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
      String all = new String(s.readToEnd(), StandardCharsets.ISO_8859_1);
      assertThat(all).startsWith("HTTP/1.1 401 ").doesNotContain(" 101 ");
      assertThat(all.split("HTTP/1.1 ", -1)).as("one answer: %s", all).hasSize(2);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void requestsPipelinedBehindAGoodUpgradeAreNotHttpAndCloseTheConnection() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      for (String behind :
          List.of(
              evilUpgrade(),
              RawSocket.get("/api/clients", RawSocket.host(a.hub()), "X-API-Key: " + KEY))) {
        RawSocket s = a.socket().timeout(5_000);
        s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())) + behind);
        RawSocket.Reply r = s.readReply();
        assertThat(r.status()).isEqualTo(101);
        // RFC 6455 4.1: a client sends nothing before the handshake's answer. What it sent is
        // neither a second HTTP request nor lost: the connection fails at once (not after the
        // registration timeout) with a protocol error.
        RawWsClient.Frame f = s.readFrame();
        assertThat(f).as("a close frame after the 101").isNotNull();
        assertThat(f.opcode()).isEqualTo(RawWsClient.CLOSE);
        assertThat(f.closeCode()).isEqualTo(1002);
        assertThat(s.closedByHub()).isTrue();
      }
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void theExactPathStillUpgradesAndRegisters() {
    try (Arena a = Arena.start()) {
      RawSocket s = a.rawDevice("well-spelt-dev");
      assertThat(a.registry().isOnline("well-spelt-dev")).isTrue();
      s.write(RawSocket.frame(RawWsClient.CLOSE, true, new byte[] {0x03, (byte) 0xe8}));
      RawWsClient.Frame f = s.readFrame();
      assertThat(f.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(f.closeCode()).isEqualTo(CloseCodes.NORMAL);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
