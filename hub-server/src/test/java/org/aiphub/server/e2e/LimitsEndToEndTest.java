package org.aiphub.server.e2e;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.AipPeer;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.SlowConsumerFlood;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * The handshake's key check, the frame size limit and the bound on bytes queued for a client, over
 * real sockets.
 */
class LimitsEndToEndTest {
  private static final int LIMIT = 64 * 1024;

  // -------------------------------------------------------------------------------- handshake

  @Test
  void aMissingOrWrongKeyGets401AndNoUpgrade() {
    try (TestHub hub = TestHub.start()) {
      String base = "ws://127.0.0.1:" + hub.port() + "/ws";
      for (URI uri :
          List.of(
              URI.create(base),
              URI.create(base + "?token=wrong-key-0123456789"),
              URI.create(base + "?token="))) {
        assertThat(refusedStatus(WsClient.open(uri))).as("status for %s", uri).isEqualTo(401);
      }
      assertThat(
              refusedStatus(
                  AipPeer.http()
                      .newWebSocketBuilder()
                      .header("Authorization", "Bearer wrong-key-0123456789")
                      .buildAsync(URI.create(base), new WebSocket.Listener() {})))
          .isEqualTo(401);
      assertThat(hub.server().registry().listClients()).isEmpty();
    }
  }

  @Test
  void aRefusedHandshakeAnswersJsonWithTheReason() throws Exception {
    try (TestHub hub = TestHub.start()) {
      HttpResponse<String> r =
          AipPeer.http()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.port() + "/ws"))
                      .GET()
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.headers().firstValue("content-type"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
      assertThat(r.body()).contains("\"error\"").contains("API key");
    }
  }

  @Test
  void theKeyMayComeAsABearerHeader() throws Exception {
    try (TestHub hub = TestHub.start()) {
      LinkedBlockingQueue<String> inbox = new LinkedBlockingQueue<>();
      WebSocket ws =
          AipPeer.http()
              .newWebSocketBuilder()
              .header("Authorization", "Bearer " + TestHub.KEY)
              .buildAsync(
                  URI.create("ws://127.0.0.1:" + hub.port() + "/ws"),
                  new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket w, CharSequence d, boolean last) {
                      inbox.add(d.toString());
                      w.request(1);
                      return null;
                    }
                  })
              .get(10, TimeUnit.SECONDS);
      try {
        ws.sendText(ClientFrames.registerDevice("dev-bearer"), true).get(10, TimeUnit.SECONDS);
        String reply = inbox.poll(10, TimeUnit.SECONDS);
        assertThat(reply).contains("\"type\":\"heartbeat\"").contains("\"status\":\"ok\"");
        assertThat(hub.server().registry().isDeviceConnected("dev-bearer")).isTrue();
      } finally {
        ws.abort();
      }
    }
  }

  @Test
  void nonGetAndNonUpgradeRequestsOnTheEndpointGet4xxJson() throws Exception {
    try (TestHub hub = TestHub.start()) {
      URI endpoint = URI.create("http://127.0.0.1:" + hub.port() + "/ws?token=" + TestHub.KEY);
      HttpResponse<String> post =
          AipPeer.http()
              .send(
                  HttpRequest.newBuilder(endpoint)
                      .POST(HttpRequest.BodyPublishers.ofString("{}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(post.statusCode()).isEqualTo(405);
      assertJsonError(post);

      HttpResponse<String> plainGet =
          AipPeer.http()
              .send(
                  HttpRequest.newBuilder(endpoint).GET().build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(plainGet.statusCode()).isEqualTo(400);
      assertJsonError(plainGet);
      assertThat(plainGet.body()).contains("WebSocket");
      assertThat(hub.server().registry().listClients()).isEmpty();
    }
  }

  // ------------------------------------------------------------------------------ frame sizes

  @Test
  void aFrameOverTheLimitClosesWith1009AndTheClientIsCleanedUp() {
    try (TestHub hub = TestHub.start(b -> b.set(MAX_FRAME_BYTES, LIMIT));
        WsClient device = Clients.device(hub, "dev-1")) {
      device.send(padded(ClientFrames.heartbeat("dev-1"), LIMIT + 1));
      assertThat(device.awaitClose()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
      await().until(() -> !hub.server().registry().isOnline("dev-1"));
      Clients.assertNoMappingsAndConsistent(hub.server().registry());
    }
  }

  @Test
  void aFrameOverTheLimitIsRefusedBeforeRegistrationToo() {
    try (TestHub hub = TestHub.start(b -> b.set(MAX_FRAME_BYTES, LIMIT));
        RawWsClient raw = RawWsClient.connect(hub.wsUri())) {
      raw.sendText(padded(ClientFrames.registerDevice("dev-big"), LIMIT + 1));
      RawWsClient.Frame close = raw.readFrame();
      assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
      assertThat(close.closeCode()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
      assertThat(hub.server().registry().listClients()).isEmpty();
    }
  }

  @Test
  void fragmentsAddingUpPastTheLimitCloseWith1009() throws Exception {
    try (TestHub hub = TestHub.start(b -> b.set(MAX_FRAME_BYTES, LIMIT))) {
      AipPeer device = AipPeer.connect(hub.wsUri(), (p, m) -> {});
      device.send(ClientFrames.registerDevice("dev-1"));
      assertThat(device.first().get(10, TimeUnit.SECONDS).status()).isEqualTo(TaskStatus.OK);
      // Three fragments, each well under the limit, together 90 KiB.
      String frame = padded(ClientFrames.heartbeat("dev-1"), 90 * 1024);
      int third = frame.length() / 3;
      device.sendText(frame.substring(0, third), false);
      device.sendText(frame.substring(third, 2 * third), false);
      device.sendText(frame.substring(2 * third), true);
      assertThat(device.closed().get(15, TimeUnit.SECONDS)).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
      await().until(() -> !hub.server().registry().isOnline("dev-1"));
      assertThat(device.problems()).isEmpty();
    }
  }

  @Test
  void aFrameOfExactlyTheLimitIsAccepted() {
    try (TestHub hub = TestHub.start(b -> b.set(MAX_FRAME_BYTES, LIMIT));
        WsClient device = Clients.device(hub, "dev-1");
        WsClient owner = Clients.constellation(hub, "galaxy-1")) {
      String empty = ClientFrames.task("galaxy-1", "dev-1", "big", "");
      String request = ClientFrames.filler(LIMIT - empty.getBytes(UTF_8).length);
      String frame = ClientFrames.task("galaxy-1", "dev-1", "big", request);
      assertThat(frame.getBytes(UTF_8)).hasSize(LIMIT);
      owner.send(frame);
      ServerMessage ack = owner.next();
      assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.sessionId()).isEqualTo("big");
      ServerMessage task = device.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.userRequest()).isEqualTo(request);
      assertThat(owner.isClosed()).isFalse();
    }
  }

  @Test
  void fragmentsAddingUpToExactlyTheLimitAreAccepted() throws Exception {
    try (TestHub hub = TestHub.start(b -> b.set(MAX_FRAME_BYTES, LIMIT))) {
      LinkedBlockingQueue<ServerMessage> inbox = new LinkedBlockingQueue<>();
      AipPeer device = AipPeer.connect(hub.wsUri(), (p, m) -> inbox.add(m));
      device.send(ClientFrames.registerDevice("dev-1"));
      assertThat(inbox.poll(10, TimeUnit.SECONDS).status()).isEqualTo(TaskStatus.OK);
      String frame = padded(ClientFrames.heartbeat("dev-1"), LIMIT);
      int half = frame.length() / 2;
      device.sendText(frame.substring(0, half), false);
      device.sendText(frame.substring(half), true);
      ServerMessage ack = inbox.poll(10, TimeUnit.SECONDS);
      assertThat(ack).isNotNull();
      assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.status()).isEqualTo(TaskStatus.OK);
      assertThat(device.closed()).isNotDone();
      assertThat(device.problems()).isEmpty();
      device.closeCleanly().get(10, TimeUnit.SECONDS);
    }
  }

  // ---------------------------------------------------------------------------- slow consumer

  @Test
  void aDeviceThatNeverReadsIsClosedOnceItsQueuedBytesPassTheBound() {
    try (TestHub hub =
            TestHub.start(
                b ->
                    b.set(SLOW_CONSUMER_TIMEOUT, Duration.ofMinutes(5))
                        .set(MAX_FRAME_BYTES, 1024 * 1024)
                        .set(SLOW_CONSUMER_MAX_BYTES, 2L * 1024 * 1024));
        RawWsClient slow = RawWsClient.connect(hub.wsUri(), 4096);
        WsClient owner = Clients.constellation(hub, "galaxy-1");
        WsClient other = Clients.device(hub, "dev-ok")) {
      slow.sendText(ClientFrames.registerDevice("dev-slow"));
      Clients.assertRegistered(slow.readMessage());

      SlowConsumerFlood flood =
          SlowConsumerFlood.run(hub, owner, "galaxy-1", "dev-slow", other, "dev-ok", 400);

      // The timer is out of reach: only the bound on queued bytes can have closed it.
      TimeoutsEndToEndTest.assertSlowDeviceCleanedUp(hub, flood);
      flood.roundTrip(other, "dev-ok", "after");
    }
  }

  /**
   * With the frame limit raised towards the 100 MiB the reference clients allow, a reading owner
   * gets a result bigger than the old fixed 16 MiB bound on queued bytes: that bound follows the
   * frame limit, so one big message is never taken for a slow reader.
   */
  @Test
  void aResultNearARaisedFrameLimitReachesAReadingOwner() {
    int limit = 20 * 1024 * 1024;
    try (TestHub hub = TestHub.start(b -> b.set(MAX_FRAME_BYTES, limit));
        WsClient device = Clients.device(hub, "dev-1");
        WsClient owner = Clients.constellation(hub, "galaxy-1")) {
      assertThat(hub.server().config().limits().slowConsumerMaxBytes()).isEqualTo(4L * limit);
      Clients.startTask(owner, "galaxy-1", "dev-1", "big");
      assertThat(device.next().type()).isEqualTo(ServerMessageType.TASK);
      String filler = ClientFrames.filler(17 * 1024 * 1024);
      device.send(ClientFrames.taskEnd("dev-1", "big", "\"" + filler + "\""));

      ServerMessage end = owner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.sessionId()).isEqualTo("big");
      assertThat(end.result()).isEqualTo(filler);
      assertThat(owner.isClosed()).isFalse();
      assertThat(hub.server().registry().isOnline("galaxy-1")).isTrue();
    }
  }

  // ---------------------------------------------------------------------------------- helpers

  /** {@code json} (an object) with an ignored padding field, exactly {@code bytes} long. */
  private static String padded(String json, int bytes) {
    String open = json.substring(0, json.length() - 1) + ",\"padding\":\"";
    String close = "\"}";
    int fill = bytes - open.length() - close.length();
    assertThat(fill).isPositive();
    String s = open + ClientFrames.filler(fill) + close;
    assertThat(s.getBytes(UTF_8)).hasSize(bytes);
    return s;
  }

  private static int refusedStatus(CompletableFuture<?> attempt) {
    Throwable t = catchThrowable(() -> attempt.get(10, TimeUnit.SECONDS));
    assertThat(t).as("the upgrade must be refused").isInstanceOf(ExecutionException.class);
    Throwable cause = t.getCause();
    assertThat(cause).isInstanceOf(WebSocketHandshakeException.class);
    return ((WebSocketHandshakeException) cause).getResponse().statusCode();
  }

  private static void assertJsonError(HttpResponse<String> r) {
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
    assertThat(r.body()).startsWith("{").contains("\"error\"");
  }
}
