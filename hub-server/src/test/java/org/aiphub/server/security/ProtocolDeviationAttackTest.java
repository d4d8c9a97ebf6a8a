package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.config.Settings;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;

/**
 * Attack 10 of issue 13: small deviations from the standards that each let a client make the hub do
 * something it should not, or leave a question it should answer unanswered. Each is checked on a
 * real hub over real sockets, with the innocents' state checked afterwards:
 *
 * <ul>
 *   <li>(a) keys: an empty {@code ?token=} or {@code X-API-Key:} is absent, so a valid key beside
 *       it is accepted; every non-empty key presented must be the key, so two different ones are
 *       refused whichever comes first;
 *   <li>(b) a close frame with code 1005 or a reason that is not UTF-8 gets a close frame (1002,
 *       1007; RFC 6455 7.4.1, 8.1), not a bare TCP close;
 *   <li>(c) an HTTP/1.1 request without {@code Host}, or with two, gets a 400 JSON error (RFC 9112
 *       3.2);
 *   <li>(d) {@code HEAD} is answered like {@code GET}, without a body;
 *   <li>(e) JSON numbers are forwarded and shown as written ({@code 1e-999999} is not {@code 0.0});
 *   <li>(f) a message in more than {@code max_fragments_per_message} frames closes with 1009 and
 *       counts in {@code hub_limits_exceeded_total{limit="max_fragments_per_message"}}.
 * </ul>
 */
class ProtocolDeviationAttackTest {
  private static final String KEY = TestHub.KEY;
  private static final ObjectMapper EXACT =
      new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  // ------------------------------------------------------------------------------ (a) keys

  @Test
  void anEmptyKeyIsAbsentAndEveryKeyPresentedMustMatch() {
    try (Arena a = Arena.start()) {
      String host = RawSocket.host(a.hub());
      List<String[]> accepted =
          List.of(
              new String[] {"/ws?token=", "Authorization: Bearer " + KEY},
              new String[] {"/ws?token=" + KEY, "Authorization: Bearer "},
              new String[] {"/ws?token=&token=" + KEY},
              new String[] {"/ws?token=" + KEY + "&token=" + KEY, "Authorization: Bearer " + KEY});
      int n = 0;
      for (String[] attempt : accepted) {
        RawSocket s = a.socket();
        s.write(RawSocket.upgrade(attempt[0], withHost(host, attempt)));
        RawSocket.Reply r = s.readReply();
        assertThat(r.status()).as("%s", List.of(attempt)).isEqualTo(101);
        String id = "keyed-dev-" + n++;
        s.write(RawSocket.text(Frames.registerDevice(id, null)));
        Clients.assertRegistered(s.readFrame().message());
        s.abort();
      }
      List<String[]> refused =
          List.of(
              new String[] {"/ws?token=" + KEY, "Authorization: Bearer wrong-key-0123"},
              new String[] {"/ws?token=wrong-key-0123", "Authorization: Bearer " + KEY},
              new String[] {"/ws?token=" + KEY + "&token=wrong-key-0123"},
              new String[] {"/ws?token=wrong-key-0123&token=" + KEY},
              new String[] {"/ws?token=", "Authorization: Bearer "},
              new String[] {
                "/ws", "Authorization: Bearer " + KEY, "Authorization: Bearer wrong-key-0123"
              });
      for (String[] attempt : refused) {
        RawSocket s = a.socket();
        s.write(RawSocket.upgrade(attempt[0], withHost(host, attempt)));
        assertThat(s.readReply().error(401)).as("%s", List.of(attempt)).contains("API key");
        assertThat(s.closedByHub()).isTrue();
      }
      // The HTTP API: the same rule over X-API-Key and bearer headers.
      assertThat(apiStatus(a, "X-API-Key: ", "Authorization: Bearer " + KEY)).isEqualTo(200);
      assertThat(apiStatus(a, "X-API-Key: " + KEY, "Authorization: Bearer ")).isEqualTo(200);
      assertThat(apiStatus(a, "X-API-Key: " + KEY, "Authorization: Bearer wrong-key-0123"))
          .isEqualTo(401);
      assertThat(apiStatus(a, "X-API-Key: wrong-key-0123", "Authorization: Bearer " + KEY))
          .isEqualTo(401);
      assertThat(apiStatus(a, "X-API-Key: " + KEY, "X-API-Key: wrong-key-0123")).isEqualTo(401);
      assertThat(apiStatus(a, "X-API-Key: ", "Authorization: Bearer ")).isEqualTo(401);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key"))
          .isEqualTo(refused.size() + 4);
      await(a, () -> a.registry().listClients().size() == 2);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  private static String[] withHost(String host, String[] attempt) {
    String[] headers = new String[attempt.length];
    headers[0] = host;
    System.arraycopy(attempt, 1, headers, 1, attempt.length - 1);
    return headers;
  }

  private static int apiStatus(Arena a, String... keyHeaders) {
    String[] headers = new String[keyHeaders.length + 1];
    headers[0] = RawSocket.host(a.hub());
    System.arraycopy(keyHeaders, 0, headers, 1, keyHeaders.length);
    RawSocket s = a.socket();
    s.write(RawSocket.get("/api/clients", headers));
    int status = s.readReply().status();
    s.abort();
    return status;
  }

  // ------------------------------------------------------------------------ (b) close frames

  @Test
  void closeCode1005AndACloseReasonThatIsNotUtf8GetACloseFrameBack() {
    try (Arena a = Arena.start()) {
      Map<byte[], Integer> closes = new LinkedHashMap<>();
      closes.put(new byte[] {0x03, (byte) 0xed}, 1002); // 1005: "no status", never on the wire
      closes.put(new byte[] {0x03, (byte) 0xee}, 1002); // 1006: "abnormal", never on the wire
      closes.put(new byte[] {0x03, (byte) 0xe8, (byte) 0xce, (byte) 0xba, (byte) 0xff}, 1007);
      closes.put(new byte[] {0x03, (byte) 0xe8, (byte) 0xc3, 0x28}, 1007);
      int n = 0;
      for (Map.Entry<byte[], Integer> c : closes.entrySet()) {
        String id = "closing-dev-" + n++;
        RawSocket s = a.rawDevice(id);
        s.write(RawSocket.frame(RawWsClient.CLOSE, true, c.getKey()));
        RawWsClient.Frame f = s.readFrame();
        assertThat(f).as("a close frame, not a bare TCP close (%s)", id).isNotNull();
        assertThat(f.opcode()).isEqualTo(RawWsClient.CLOSE);
        assertThat(f.closeCode()).as(id).isEqualTo(c.getValue());
        assertThat(s.readFrame()).as("nothing after the close frame").isNull();
        await(a, () -> !a.registry().isOnline(id));
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ------------------------------------------------------------------------------ (c) Host

  @Test
  void anHttp11RequestWithoutExactlyOneHostGets400() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      String host = RawSocket.host(a.hub());
      List<String> requests =
          List.of(
              RawSocket.get("/healthz"),
              RawSocket.get("/api/clients", "X-API-Key: " + KEY),
              RawSocket.get("/healthz", "Host: "),
              RawSocket.get("/healthz", host, host),
              RawSocket.get("/api/clients", host, "Host: evil.example", "X-API-Key: " + KEY),
              RawSocket.upgrade(RawSocket.wsTarget()),
              RawSocket.upgrade(RawSocket.wsTarget(), host, "Host: evil.example"));
      for (String req : requests) {
        RawSocket s = a.socket();
        s.write(req);
        String what = req.replace("\r\n", " | ");
        assertThat(s.readReply().error(400)).as(what).contains("Host");
        assertThat(s.closedByHub()).as(what).isTrue();
      }
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_request"))
          .isEqualTo(requests.size());
      // HTTP/1.0 has no Host requirement.
      RawSocket s = a.socket();
      s.write("GET /healthz HTTP/1.0\r\n\r\n");
      RawSocket.Reply r = s.readReply();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("ok");
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ------------------------------------------------------------------------------ (d) HEAD

  @Test
  void headIsAnsweredLikeGetWithoutABody() {
    try (Arena a = Arena.start()) {
      String host = RawSocket.host(a.hub());
      String key = "X-API-Key: " + KEY;
      for (String path :
          List.of("/healthz", "/api/clients", "/api/devices/" + Arena.DEVICE, "/", "/metrics")) {
        RawSocket s = a.socket();
        s.write(RawSocket.get(path, host, key));
        RawSocket.Reply get = s.readReply();
        assertThat(get.status()).as(path).isEqualTo(200);
        s.write(head(path, host, key));
        RawSocket.Reply head = s.readHeadReply();
        assertThat(head.status()).as(path).isEqualTo(200);
        assertThat(head.headers().get("content-type"))
            .as(path)
            .isEqualTo(get.headers().get("content-type"));
        if (!path.equals("/metrics")) { // (the scrape itself changes between the two)
          assertThat(head.headers().get("content-length"))
              .as(path)
              .isEqualTo(get.headers().get("content-length"));
        }
        // No body came: the next bytes are the answer to the next request.
        s.write(RawSocket.get("/healthz", host));
        RawSocket.Reply next = s.readReply();
        assertThat(next.status()).as("after HEAD %s", path).isEqualTo(200);
        assertThat(next.body()).isEqualTo("ok");
        s.abort();
      }
      // Refusals keep their status and headers, without a body.
      RawSocket s = a.socket();
      s.write(head("/api/clients", host));
      RawSocket.Reply r = s.readHeadReply();
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.headers()).containsEntry("www-authenticate", "Bearer");
      s.write(head("/api/dispatch", host, key));
      r = s.readHeadReply();
      assertThat(r.status()).isEqualTo(405);
      assertThat(r.headers()).containsEntry("allow", "POST");
      s.write(RawSocket.get("/healthz", host));
      assertThat(s.readReply().body()).isEqualTo("ok");
      // A route that takes GET names HEAD too when it refuses another method.
      s.write("DELETE /api/clients HTTP/1.1\r\n" + host + "\r\n" + key + "\r\n\r\n");
      r = s.readReply();
      assertThat(r.error(405)).contains("DELETE");
      assertThat(r.headers()).containsEntry("allow", "GET, HEAD");
      // The live feed's HEAD names its type and streams nothing.
      s.write(head("/api/events", host, key));
      r = s.readHeadReply();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).startsWith("text/event-stream");
      s.write(RawSocket.get("/healthz", host));
      assertThat(s.readReply().body()).isEqualTo("ok");
      assertThat(HubState.feedViewers(a.hub().server())).isZero();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  private static String head(String path, String... headers) {
    return RawSocket.get(path, headers).replaceFirst("GET ", "HEAD ");
  }

  // --------------------------------------------------------------------------- (e) numbers

  /** Numbers a double cannot hold as written: under- and overflow, more digits than it keeps. */
  private static final List<String> NUMBERS =
      List.of(
          "1e-999999",
          "-2.5E-400",
          "1e400",
          "4.9e-324",
          "3.14159265358979323846264338327950288",
          "135e20",
          "0.30000000000000004",
          "0.1",
          "1.5",
          "-0.0",
          "123456789012345678901234567890");

  private static String numbersObject() {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < NUMBERS.size(); i++) {
      b.append(i == 0 ? "" : ",").append("\"n").append(i).append("\":").append(NUMBERS.get(i));
    }
    return b.append('}').toString();
  }

  private static void assertNumbersAsWritten(JsonNode numbers, String where) {
    for (int i = 0; i < NUMBERS.size(); i++) {
      JsonNode n = numbers.get("n" + i);
      assertThat(n).as("%s n%d", where, i).isNotNull();
      assertThat(n.isNumber()).as("%s n%d: %s", where, i, n).isTrue();
      assertThat(n.decimalValue().compareTo(new BigDecimal(NUMBERS.get(i))))
          .as("%s: %s came back as %s", where, NUMBERS.get(i), n)
          .isZero();
    }
  }

  @Test
  void jsonNumbersAreForwardedAndShownAsWritten() throws IOException {
    try (Arena a = Arena.start()) {
      String dev = "numbers-dev";
      String numbers = numbersObject();
      RawWsClient device = a.raw();
      device.sendText(
          "{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\""
              + dev
              + "\",\"metadata\":{\"platform\":\"linux\",\"system_info\":{\"numbers\":"
              + numbers
              + "}}}");
      Clients.assertRegistered(device.readMessage());
      // Shown over HTTP as written.
      HubHttp.Reply info = a.http().get("/api/devices/" + dev);
      assertThat(info.status()).as("%s", info).isEqualTo(200);
      assertNumbersAsWritten(
          EXACT.readTree(info.body()).at("/system_info/numbers"), "GET /api/devices");
      // Forwarded to the owner as written.
      RawWsClient owner = a.raw();
      owner.sendText(Frames.json(Frames.of("register", "ok", "constellation", "numbers-galaxy")));
      Clients.assertRegistered(owner.readMessage());
      owner.sendText(Frames.task("numbers-galaxy", dev, "numbers-session", "count"));
      assertThat(owner.readMessage().sessionId()).isEqualTo("numbers-session");
      assertThat(device.readMessage().sessionId()).isEqualTo("numbers-session");
      device.sendText(
          "{\"type\":\"task_end\",\"status\":\"completed\",\"client_type\":\"device\","
              + "\"client_id\":\""
              + dev
              + "\",\"session_id\":\"numbers-session\",\"result\":"
              + numbers
              + "}");
      RawWsClient.Frame end = owner.readFrame();
      assertThat(end.opcode()).isEqualTo(RawWsClient.TEXT);
      assertNumbersAsWritten(EXACT.readTree(end.text()).get("result"), "task_end to the owner");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  // ------------------------------------------------------------------------- (f) fragments

  @Test
  void aMessageInTooManyFragmentsClosesWith1009() {
    try (Arena a = Arena.start()) {
      // The default limit (4096) still takes a message in exactly that many frames.
      RawSocket ok = a.rawDevice("fragmenting-dev");
      ok.write(fragmented(Frames.heartbeat("fragmenting-dev"), 4096));
      assertThat(ok.readFrame().message().type()).isEqualTo(ServerMessageType.HEARTBEAT);
      // One more, and the hub stops reading that message, whatever the client keeps sending: the
      // tiny frames cost it one check each, and at most 4096 of them per message.
      RawSocket s = a.rawDevice("flooding-dev");
      s.tryWrite(fragmented(Frames.heartbeat("flooding-dev"), 4097));
      s.tryWrite(emptyContinuations(20_000));
      RawWsClient.Frame f = s.readFrame();
      assertThat(f).as("a close frame").isNotNull();
      assertThat(f.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(f.closeCode()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
      assertThat(f.closeReason()).contains("fragments");
      assertThat(s.closedByHub()).isTrue();
      await(a, () -> !a.registry().isOnline("flooding-dev"));
      assertThat(a.scraped("hub_limits_exceeded_total", "limit", "max_fragments_per_message"))
          .isEqualTo(1);
      assertThat(a.registry().isOnline("fragmenting-dev")).isTrue();
      ok.abort();
      await(a, () -> !a.registry().isOnline("fragmenting-dev"));
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void theFragmentLimitIsConfigurable() {
    try (Arena a = Arena.start(b -> b.set(Settings.MAX_FRAGMENTS_PER_MESSAGE, 3))) {
      RawSocket ok = a.rawDevice("three-dev");
      ok.write(fragmented(Frames.heartbeat("three-dev"), 3));
      assertThat(ok.readFrame().opcode()).isEqualTo(RawWsClient.TEXT);
      ok.write(fragmented(Frames.heartbeat("three-dev"), 4));
      RawWsClient.Frame f = ok.readFrame();
      assertThat(f.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(f.closeCode()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  /** {@code text} as a text frame and continuations, {@code frames} in all (the middle empty). */
  private static byte[] fragmented(String text, int frames) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(
        RawSocket.frame(RawWsClient.TEXT, false, java.util.Arrays.copyOf(utf8, utf8.length - 1)));
    out.writeBytes(emptyContinuations(frames - 2));
    out.writeBytes(
        RawSocket.frame(RawWsClient.CONTINUATION, true, new byte[] {utf8[utf8.length - 1]}));
    return out.toByteArray();
  }

  private static byte[] emptyContinuations(int n) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] empty = RawSocket.frame(RawWsClient.CONTINUATION, false, new byte[0]);
    for (int i = 0; i < n; i++) {
      out.writeBytes(empty);
    }
    return out.toByteArray();
  }

  private static void await(Arena a, java.util.concurrent.Callable<Boolean> condition) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(condition);
  }
}
