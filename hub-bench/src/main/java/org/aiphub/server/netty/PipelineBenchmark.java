package org.aiphub.server.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import org.aiphub.bench.BenchmarkBase;
import org.aiphub.bench.Fixtures;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The hub's own CPU cost per task, without sockets: a registered device and a registered
 * constellation, each on an {@link EmbeddedChannel} holding the hub's real {@link AipFrameCodec}
 * and {@link ConnectionHandler} over one shared {@link TaskRouter}, {@link ClientRegistry} and
 * {@link SessionTable}. One operation is one whole task: a {@code task} frame into the
 * constellation's channel (decode, checks, session reserve and bind, two encodes: the ack and the
 * device's task), then a {@code task_end} frame into the device's channel (decode, finish, unbind,
 * one encode). Every outbound frame is read and released, so nothing piles up or leaks.
 *
 * <p>The WebSocket framing, aggregation and slow-consumer handlers are left out (they cost the same
 * for any relay, and the load generator measures them over real sockets), as are metrics and logs
 * ({@link ConnectionEvents#NONE}, {@link RouterEvents#NONE}).
 *
 * <p>Target (docs/ARCHITECTURE.md, "Performance targets"): AIP frame decode + route + encode
 * (EmbeddedChannel) <= 10 us per task.
 */
public class PipelineBenchmark extends BenchmarkBase {
  /** The fixtures' session id, replaced by a fixed-width counter so each task is a new session. */
  private static final String FIXTURE_SESSION = "\"session_id\":\"weekly_report@task_3\"";

  private static final String SESSION_PREFIX = "bench@task_";
  private static final int COUNTER_DIGITS = 16;

  private final AipCodec codec = new AipCodec();
  private SessionTable sessions;
  private EmbeddedChannel device;
  private EmbeddedChannel constellation;

  // The inbound frames: fixtures whose session id digits are rewritten in place for each task.
  private byte[] task;
  private int taskCounterAt;
  private byte[] taskEnd;
  private int taskEndCounterAt;
  private long next;

  /** Registers both clients the way the hub builds them, then checks one task end to end. */
  @Setup(Level.Trial)
  public void setUp() throws AipDecodeException {
    HubConfig config = HubConfig.defaults();
    Clock clock = Clock.systemUTC();
    ClientRegistry registry =
        ClientRegistry.builder()
            .policy(config.devices().duplicatePolicy())
            .defaultMaxConcurrentTasks(config.limits().defaultMaxConcurrentTasks())
            .clock(clock)
            .build();
    sessions = new SessionTable(config.history().size(), config.history().age(), clock);
    TaskRouter router = new TaskRouter(registry, sessions, clock, RouterEvents.NONE);
    // One codec handler for every channel, as HubChannelInitializer shares it (@Sharable).
    AipFrameCodec frameCodec = new AipFrameCodec(new AipCodec());
    device = channel(frameCodec, router, config);
    constellation = channel(frameCodec, router, config);
    // The device first: the constellation names it as its target and is refused if it is offline.
    register(device, "client-register-device.json");
    register(constellation, "client-register-constellation.json");

    task = withCounter("client-task-constellation.json");
    taskCounterAt = counterOffset(task);
    taskEnd = withCounter("client-task-end-device.json");
    taskEndCounterAt = counterOffset(taskEnd);

    checkOneTask();
  }

  private static EmbeddedChannel channel(
      AipFrameCodec frameCodec, TaskRouter router, HubConfig config) {
    // No HandshakeComplete event: it would only arm the registration timer, which a register
    // message as the first frame cancels anyway.
    return new EmbeddedChannel(
        frameCodec,
        new ConnectionHandler(
            router,
            config.timeouts().registration(),
            config.limits().badFramesPerMinute(),
            ConnectionEvents.NONE));
  }

  private void register(EmbeddedChannel ch, String fixture) throws AipDecodeException {
    ch.writeInbound(frame(ch, Fixtures.bytes(fixture)));
    ServerMessage reply = readMessage(ch);
    ConnectionHandler handler = ch.pipeline().get(ConnectionHandler.class);
    if (reply.type() != ServerMessageType.HEARTBEAT
        || handler.state() != ConnectionHandler.State.REGISTERED) {
      throw new IllegalStateException(fixture + " did not register: " + reply);
    }
  }

  private static byte[] withCounter(String fixture) {
    String json = new String(Fixtures.bytes(fixture), StandardCharsets.UTF_8);
    if (!json.contains(FIXTURE_SESSION)) {
      throw new IllegalStateException(fixture + " no longer holds " + FIXTURE_SESSION);
    }
    String session = "\"session_id\":\"" + SESSION_PREFIX + "0".repeat(COUNTER_DIGITS) + "\"";
    return json.replace(FIXTURE_SESSION, session).getBytes(StandardCharsets.UTF_8);
  }

  private static int counterOffset(byte[] frame) {
    String json = new String(frame, StandardCharsets.US_ASCII);
    return json.indexOf(SESSION_PREFIX) + SESSION_PREFIX.length();
  }

  /** Runs one task by hand and checks every frame the hub sends, so a trial never times nothing. */
  private void checkOneTask() throws AipDecodeException {
    String sessionId = SESSION_PREFIX + String.format("%0" + COUNTER_DIGITS + "d", next);
    stamp();
    constellation.writeInbound(frame(constellation, task));
    expect(readMessage(constellation), ServerMessageType.HEARTBEAT, TaskStatus.OK, sessionId);
    expect(readMessage(device), ServerMessageType.TASK, TaskStatus.CONTINUE, sessionId);
    device.writeInbound(frame(device, taskEnd));
    expect(readMessage(constellation), ServerMessageType.TASK_END, TaskStatus.COMPLETED, sessionId);
    checkQuiet();
  }

  private static void expect(
      ServerMessage m, ServerMessageType type, TaskStatus status, String sessionId) {
    if (m.type() != type || m.status() != status || !sessionId.equals(m.sessionId())) {
      throw new IllegalStateException(
          "expected " + type + "/" + status + " for " + sessionId + ", the hub sent " + m);
    }
  }

  private ServerMessage readMessage(EmbeddedChannel ch) throws AipDecodeException {
    Object o = ch.readOutbound();
    if (!(o instanceof TextWebSocketFrame)) {
      ReferenceCountUtil.release(o);
      throw new IllegalStateException("expected a text frame, got " + o);
    }
    TextWebSocketFrame f = (TextWebSocketFrame) o;
    try {
      return codec.decodeServer(ByteBufUtil.getBytes(f.content()));
    } finally {
      f.release();
    }
  }

  /** No frame left unread, no session left running, no exception swallowed. */
  private void checkQuiet() {
    device.checkException();
    constellation.checkException();
    Object extra = device.readOutbound();
    if (extra == null) {
      extra = constellation.readOutbound();
    }
    if (extra != null) {
      String text = extra.toString();
      ReferenceCountUtil.release(extra);
      throw new IllegalStateException("the hub sent an unexpected frame: " + text);
    }
    if (sessions.counts().running() != 0) {
      throw new IllegalStateException(sessions.counts().running() + " sessions still running");
    }
  }

  /** Gives the next task a new session id (both frames carry the same one). */
  private void stamp() {
    long n = next++;
    for (int i = COUNTER_DIGITS - 1; i >= 0; i--) {
      byte digit = (byte) ('0' + (int) (n % 10));
      task[taskCounterAt + i] = digit;
      taskEnd[taskEndCounterAt + i] = digit;
      n /= 10;
    }
  }

  /**
   * A text frame in a pooled direct buffer, as the socket hands them to the hub (the decoder then
   * copies the bytes out, as it does in production).
   */
  private static TextWebSocketFrame frame(EmbeddedChannel ch, byte[] json) {
    ByteBuf buf = ch.alloc().directBuffer(json.length);
    buf.writeBytes(json);
    return new TextWebSocketFrame(buf);
  }

  /** Reads and releases one outbound frame; fails loudly when the hub did not send it. */
  private static int take(EmbeddedChannel ch) {
    Object o = ch.readOutbound();
    if (!(o instanceof TextWebSocketFrame)) {
      ReferenceCountUtil.release(o);
      throw new IllegalStateException("expected a text frame, got " + o);
    }
    TextWebSocketFrame f = (TextWebSocketFrame) o;
    int size = f.content().readableBytes();
    f.release();
    return size;
  }

  /**
   * One task: {@code task} in, ack and task out, {@code task_end} in, {@code task_end} out.
   *
   * @return the bytes the hub wrote, so the work cannot be optimised away
   */
  @Benchmark
  public int taskRoundTrip() {
    stamp();
    constellation.writeInbound(frame(constellation, task));
    int written = take(constellation); // ack
    written += take(device); // task
    device.writeInbound(frame(device, taskEnd));
    return written + take(constellation); // task_end
  }

  /** After every iteration: nothing unread, nothing running, nothing thrown. */
  @TearDown(Level.Iteration)
  public void checkIteration() {
    checkQuiet();
  }

  /** Closes both channels (the disconnect path) and releases anything left. */
  @TearDown(Level.Trial)
  public void tearDown() {
    constellation.finishAndReleaseAll();
    device.finishAndReleaseAll();
  }
}
