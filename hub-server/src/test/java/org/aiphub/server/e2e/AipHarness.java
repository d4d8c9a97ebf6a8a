package org.aiphub.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;

/**
 * One test's hub and the clients it opened: registered devices and constellations in one call,
 * common assertions, and a teardown that drops every client and stops the hub.
 */
final class AipHarness implements AutoCloseable {
  /** How long "nothing arrives" is watched for. */
  static final Duration QUIET = Duration.ofMillis(200);

  private final TestHub hub;
  private final List<WsClient> clients = new ArrayList<>();
  private boolean binaryFrames;

  private AipHarness(TestHub hub) {
    this.hub = hub;
  }

  /** Every client this harness opens from now on sends binary frames, as Galaxy does. */
  AipHarness binaryFrames(boolean on) {
    binaryFrames = on;
    return this;
  }

  static AipHarness start() {
    return new AipHarness(TestHub.start());
  }

  static AipHarness start(UnaryOperator<HubConfig.Builder> tweak) {
    return new AipHarness(TestHub.start(tweak));
  }

  TestHub hub() {
    return hub;
  }

  ClientRegistry registry() {
    return hub.server().registry();
  }

  SessionTable sessions() {
    return hub.server().sessions();
  }

  /** A connected, unregistered client. */
  WsClient connect() {
    WsClient c = hub.connect();
    if (binaryFrames) {
      c.binaryFrames();
    }
    clients.add(c);
    return c;
  }

  /** A client registered with {@code registerFrame}; the first reply must be the ok heartbeat. */
  WsClient registered(String registerFrame) {
    WsClient c = connect();
    c.send(registerFrame);
    assertRegistrationOk(c.next());
    return c;
  }

  /** A registered device. */
  WsClient device(String id) {
    return registered(AipFrames.registerDevice(id).text());
  }

  /** A registered constellation ({@code target} may be null). */
  WsClient constellation(String id, String target) {
    return registered(AipFrames.registerConstellation(id, target).text());
  }

  /**
   * Starts session {@code sessionId} from {@code constellation} on {@code device} and checks both
   * the ack and the task the device receives.
   */
  void startTask(
      WsClient constellation,
      String constellationId,
      WsClient device,
      String deviceId,
      String sid) {
    constellation.send(AipFrames.task(constellationId, deviceId, sid, "do " + sid).text());
    ServerMessage ack = constellation.next();
    assertThat(ack.type()).as("ack of %s", sid).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(ack.status()).isEqualTo(TaskStatus.OK);
    assertThat(ack.sessionId()).isEqualTo(sid);
    ServerMessage task = device.next();
    assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
    assertThat(task.sessionId()).isEqualTo(sid);
  }

  /** The registration reply (also the heartbeat ack): heartbeat, ok, a response_id. */
  static void assertRegistrationOk(ServerMessage m) {
    assertThat(m.type()).as("reply %s", m).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.responseId()).isNotBlank();
    assertThat(m.error()).isNull();
  }

  /** An error frame whose text contains {@code phrase}. */
  static ServerMessage assertError(ServerMessage m, String phrase) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.ERROR);
    assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(m.error()).contains(phrase);
    return m;
  }

  /**
   * What a refused task that carried session id {@code sid} gets: an error frame whose text
   * contains {@code phrase}, then {@code task_end} {@code failed} for {@code sid} with the same
   * text.
   *
   * @return the error frame
   */
  static ServerMessage assertTaskRefused(WsClient c, String sid, String phrase) {
    ServerMessage error = assertError(c.next(), phrase);
    ServerMessage end = c.next();
    assertThat(end.type()).as("after the error: %s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.sessionId()).isEqualTo(sid);
    assertThat(end.error()).isEqualTo(error.error());
    assertThat(end.result()).isNull();
    return error;
  }

  /**
   * Proves {@code c} is open and had nothing else queued: a heartbeat is answered, and the answer
   * is the very next frame.
   */
  static void assertAlive(WsClient c, String clientId, String clientType) {
    c.send(AipFrames.heartbeat(clientId, clientType).text());
    ServerMessage ack = c.next();
    assertRegistrationOk(ack);
    assertThat(ack.sessionId()).isNull();
    assertThat(c.isClosed()).isFalse();
  }

  /**
   * Closes every client with the close handshake and waits until the hub has run their disconnects,
   * so no cleanup races the hub's shutdown; then stops the hub.
   */
  @Override
  public void close() {
    try {
      for (WsClient c : clients) {
        c.close();
      }
      await()
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(5))
          .atMost(Duration.ofSeconds(10))
          .until(() -> hub.server().registry().getStats().total() == 0);
    } finally {
      hub.close();
    }
  }
}
