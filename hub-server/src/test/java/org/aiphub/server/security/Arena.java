package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;

/**
 * One attack's stage: a real hub, and on it an innocent device and an innocent constellation with a
 * session running between them, set up before the attack. Afterwards {@link
 * #assertInnocentsUntouched} proves the attack changed nothing of theirs: their registry entries
 * are identical, the session still runs with both mappings, neither received anything (the next
 * frame each gets is the answer to a heartbeat sent now), and the session still completes normally.
 * Closing drops every attacker socket and stops the hub.
 */
final class Arena implements AutoCloseable {
  static final String DEVICE = "innocent-dev";
  static final String OWNER = "innocent-galaxy";
  static final String SESSION = "innocent-session";
  static final String TASK_NAME = "innocent_task";
  static final String REQUEST = "open the innocent spreadsheet";

  /** How long "nothing arrives" is watched for. */
  static final Duration QUIET = Duration.ofMillis(150);

  private final TestHub hub;
  private final HubHttp http;
  private final List<AutoCloseable> attackers = new ArrayList<>();
  private WsClient device;
  private WsClient owner;
  private ClientInfo deviceInfo;
  private ClientInfo ownerInfo;

  private Arena(TestHub hub) {
    this.hub = hub;
    this.http = new HubHttp(hub);
  }

  /** A hub with the test defaults and the innocents on it. */
  static Arena start() {
    return start(b -> b);
  }

  /** A hub with the test defaults adjusted by {@code tweak}, and the innocents on it. */
  static Arena start(UnaryOperator<HubConfig.Builder> tweak) {
    Arena a = new Arena(TestHub.start(tweak));
    try {
      a.innocentsJoin();
    } catch (RuntimeException | AssertionError e) {
      a.close();
      throw e;
    }
    return a;
  }

  private void innocentsJoin() {
    device = hub.connect();
    device.send(JsonFrames.registerDevice(DEVICE, "linux", List.of("gui", "excel")));
    Clients.assertRegistered(device.next());
    owner = hub.connect();
    owner.send(JsonFrames.registerConstellation(OWNER));
    Clients.assertRegistered(owner.next());
    owner.send(JsonFrames.task(OWNER, DEVICE, SESSION, TASK_NAME, REQUEST));
    ServerMessage ack = owner.next();
    assertThat(ack.type()).as("ack %s", ack).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(ack.sessionId()).isEqualTo(SESSION);
    ServerMessage task = device.next();
    assertThat(task.type()).as("task %s", task).isEqualTo(ServerMessageType.TASK);
    assertThat(task.sessionId()).isEqualTo(SESSION);
    assertThat(task.userRequest()).isEqualTo(REQUEST);
    heartbeatNoted(device, DEVICE);
    heartbeatNoted(owner, OWNER);
    deviceInfo = registry().getClientInfo(DEVICE).orElseThrow();
    ownerInfo = registry().getClientInfo(OWNER).orElseThrow();
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

  /** An HTTP client that remembers every answer. */
  HubHttp http() {
    return http;
  }

  /** The innocent device's socket. */
  WsClient device() {
    return device;
  }

  /** The innocent constellation's socket. */
  WsClient owner() {
    return owner;
  }

  // ---------------------------------------------------------------------------------- attackers

  /** A connected, unregistered WebSocket client, dropped when the arena closes. */
  WsClient connect() {
    return track(hub.connect());
  }

  /**
   * A WebSocket client registered with {@code registerFrame}, which has then sent one heartbeat
   * (see {@link #heartbeatNoted}).
   */
  WsClient registered(String registerFrame) {
    WsClient c = connect();
    c.send(registerFrame);
    Clients.assertRegistered(c.next());
    heartbeatNoted(c, (String) HubHttp.object(registerFrame).get("client_id"));
    return c;
  }

  /**
   * A heartbeat from {@code c}, answered as the only frame, and noted by the hub (the dashboard
   * keeps each client's last heartbeat, noted just after the answer goes out). Every client on the
   * stage does this once when it joins, so the heartbeat that later proves nothing else was queued
   * for it ({@link #assertOnlyAnswer}) leaves no new trace between two {@link #bookkeeping}
   * snapshots: only the attack could.
   */
  void heartbeatNoted(WsClient c, String clientId) {
    assertOnlyAnswer(c, clientId);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> HubState.heartbeatsNoted(hub.server()).contains(clientId));
  }

  /** A registered device {@code id}. */
  WsClient device(String id) {
    return registered(JsonFrames.registerDevice(id, "linux", List.of("gui")));
  }

  /** A registered constellation {@code id} without a target. */
  WsClient constellation(String id) {
    return registered(JsonFrames.registerConstellation(id));
  }

  /** A raw WebSocket client, upgraded with the right key. */
  RawWsClient raw() {
    return track(RawWsClient.connect(hub.wsUri()));
  }

  /** A plain socket from 127.0.0.1. */
  RawSocket socket() {
    return track(RawSocket.open(hub));
  }

  /** A plain socket from the loopback address {@code source}. */
  RawSocket socket(String source) {
    return track(RawSocket.open(hub, source));
  }

  /** A plain socket upgraded to the AIP endpoint and registered as device {@code id}. */
  RawSocket rawDevice(String id) {
    RawSocket s = socket();
    s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(hub)));
    RawSocket.Reply r = s.readReply();
    assertThat(r.status()).as("upgrade %s", r).isEqualTo(101);
    s.write(RawSocket.text(JsonFrames.registerDevice(id, "linux", List.of("gui"))));
    Clients.assertRegistered(s.readFrame().message());
    return s;
  }

  /** Drops {@code c} when the arena closes. */
  <T extends AutoCloseable> T track(T c) {
    synchronized (attackers) {
      attackers.add(c);
    }
    return c;
  }

  // ---------------------------------------------------------------------------------- checks

  /**
   * The innocents' registry entries are identical to what they were before the attack, their
   * session runs with both mappings, and each of them is open and had received nothing: a heartbeat
   * sent now is answered by their very next frame.
   */
  void assertInnocentsUntouched() {
    ClientRegistry r = registry();
    assertThat(r.getClientInfo(DEVICE)).as("innocent device entry").contains(deviceInfo);
    assertThat(r.getClientInfo(OWNER)).as("innocent owner entry").contains(ownerInfo);
    assertThat(r.getDeviceSessions(DEVICE)).as("innocent device sessions").containsExactly(SESSION);
    assertThat(r.getConstellationSessions(OWNER))
        .as("innocent owner sessions")
        .containsExactly(SESSION);
    assertThat(r.getSessionOwner(SESSION)).contains(OWNER);
    assertThat(r.getSessionExecutor(SESSION)).contains(DEVICE);
    Session s = sessions().running(SESSION).orElseThrow(() -> new AssertionError("not running"));
    assertThat(s.ownerId()).isEqualTo(OWNER);
    assertThat(s.executorId()).isEqualTo(DEVICE);
    assertThat(s.request()).isEqualTo(REQUEST);
    assertThat(s.taskName()).isEqualTo(TASK_NAME);
    assertOnlyAnswer(device, DEVICE);
    assertOnlyAnswer(owner, OWNER);
    Clients.assertCountersMatchContents(r);
  }

  /** {@link #assertInnocentsUntouched}, then the innocent session completes with its result. */
  void assertInnocentsUntouchedAndSessionCompletes() {
    assertInnocentsUntouched();
    device.send(JsonFrames.taskEnd(DEVICE, SESSION, "completed", Map.of("rows", 42), null));
    ServerMessage end = owner.next();
    assertThat(end.type()).as("owner's frame %s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.sessionId()).isEqualTo(SESSION);
    assertThat(end.result()).isEqualTo(Map.of("rows", 42));
    assertThat(end.error()).isNull();
    assertThat(registry().getDeviceSessions(DEVICE)).isEmpty();
    assertThat(registry().getConstellationSessions(OWNER)).isEmpty();
    assertOnlyAnswer(device, DEVICE);
    assertOnlyAnswer(owner, OWNER);
  }

  /** Session counts and history, to compare before and after an attack. */
  record Bookkeeping(SessionCounts counts, int history, Map<String, Long> sizes) {}

  /**
   * What the hub holds now, once it is at rest: a session's start is timed for the metrics just
   * after its frames go out, so the timing entry may trail the frames a client sees.
   */
  Bookkeeping bookkeeping() {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              long running = sessions().counts().running();
              return HubState.sizes(hub.server()).getOrDefault("HubMetrics.startedNanos", running)
                  == running;
            });
    return new Bookkeeping(
        sessions().counts(), sessions().historySize(), HubState.sizes(hub.server()));
  }

  /**
   * The value of the one sample {@code name} with {@code labels} (name, value pairs) in what {@code
   * GET /metrics} answers (with the key), the way an operator's scraper sees it.
   */
  double scraped(String name, String... labels) {
    HubHttp.Reply r = http.get("/metrics");
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    return PrometheusText.value(PrometheusText.parse(r.body()), name, labels);
  }

  /** The next frame {@code c} receives answers a heartbeat sent now: nothing else was queued. */
  static void assertOnlyAnswer(WsClient c, String clientId) {
    assertThat(c.pending()).as("frames %s received unasked", clientId).isZero();
    assertThat(c.isClosed()).as("%s closed", clientId).isFalse();
    c.send(Frames.heartbeat(clientId));
    ServerMessage m = c.next();
    assertThat(m.type())
        .as("%s's next frame %s", clientId, m)
        .isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(m.status()).isEqualTo(TaskStatus.OK);
    assertThat(m.sessionId()).as("%s's next frame %s", clientId, m).isNull();
    assertThat(m.error()).isNull();
  }

  /**
   * A refused task with session id {@code sid}: an error frame whose text contains {@code phrase},
   * then the {@code task_end} {@code failed} that ends the task for its sender, with the same text.
   *
   * @return the error frame
   */
  static ServerMessage assertTaskRefused(WsClient c, String sid, String phrase) {
    ServerMessage error = assertError(c.next(), phrase);
    assertRefusalEnd(c.next(), sid, error.error());
    return error;
  }

  /** The {@code task_end} that follows the error frame of a refused task. */
  static void assertRefusalEnd(ServerMessage end, String sid, String error) {
    assertThat(end.type()).as("frame %s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.sessionId()).isEqualTo(sid);
    assertThat(end.error()).isEqualTo(error);
    assertThat(end.result()).isNull();
  }

  /** An error frame whose text contains {@code phrase}. */
  static ServerMessage assertError(ServerMessage m, String phrase) {
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.ERROR);
    assertThat(m.status()).isEqualTo(TaskStatus.ERROR);
    assertThat(m.error()).as("error of %s", m).contains(phrase);
    return m;
  }

  @Override
  public void close() {
    List<AutoCloseable> all;
    synchronized (attackers) {
      all = new ArrayList<>(attackers);
    }
    for (AutoCloseable c : all) {
      try {
        if (c instanceof WsClient) {
          ((WsClient) c).abort();
        } else if (c instanceof RawWsClient) {
          ((RawWsClient) c).abort();
        } else if (c instanceof RawSocket) {
          ((RawSocket) c).abort();
        } else {
          c.close();
        }
      } catch (Exception | AssertionError e) {
        // already gone
      }
    }
    hub.close();
  }
}
