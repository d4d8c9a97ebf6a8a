package org.aiphub.server.netty;

import static org.aiphub.core.testing.Fuzz.oneOf;
import static org.aiphub.core.testing.Fuzz.weighted;
import static org.aiphub.server.config.Settings.API_KEY;
import static org.aiphub.server.config.Settings.BAD_FRAMES_PER_MINUTE;
import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.aiphub.server.config.Settings.HANDSHAKE_TIMEOUT;
import static org.aiphub.server.config.Settings.IDLE_TIMEOUT;
import static org.aiphub.server.config.Settings.MAX_BODY_BYTES;
import static org.aiphub.server.config.Settings.MAX_FRAGMENTS_PER_MESSAGE;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.aiphub.server.config.Settings.MAX_JSON_DEPTH;
import static org.aiphub.server.config.Settings.PING_TIMEOUT;
import static org.aiphub.server.config.Settings.PROBE_TIMEOUT;
import static org.aiphub.server.config.Settings.REGISTRATION_TIMEOUT;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_HIGH;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_LOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionTable;
import org.aiphub.core.testing.Fuzz;
import org.aiphub.server.DeviceConfigReloader;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.http.ApiRoutes;
import org.aiphub.server.netty.HubOutputReader.Event;
import org.aiphub.server.netty.HubOutputReader.Frame;
import org.aiphub.server.netty.HubOutputReader.Response;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.security.AdmissionControl;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;
import org.aiphub.server.testing.HubInternals;
import org.aiphub.server.testing.LogCapture;
import org.junit.jupiter.api.Test;

/**
 * Property test of the hub's whole pipeline, run by the seeded harness {@link Fuzz}; where {@link
 * ConnectionStateMachinePropertyTest} feeds ready-made frames to the AIP handlers, this one feeds
 * bytes to everything in front of them too. Each try builds the hub's state (registry, session
 * table, router, admission control, channel group, HTTP API) and, with the hub's own {@link
 * HubChannelInitializer}, two sockets ({@link EmbeddedSocketChannel}s on one hand-driven clock): a
 * well-behaved device ({@value #PEER}) that upgrades, registers and, depending on the try, answers
 * pings and ends the tasks it gets; and the fuzzed client, which writes raw bytes:
 *
 * <ul>
 *   <li>before or instead of an upgrade: random bytes, HTTP API requests (with no Host or two),
 *       HEAD requests, upgrade requests with wrong keys, hosts, origins, methods, versions,
 *       headers, percent-escapes or the AIP path in another spelling ({@code /w%73}), bytes mutated
 *       at random, requests cut short, oversized bodies, pipelined requests for large answers; a
 *       request pipelined behind a good upgrade, in the same write;
 *   <li>after a good upgrade (key in the query or a bearer header): WebSocket frames from a small
 *       client encoder, masked or not, with RSV bits, reserved opcodes, fragments, interleaved
 *       control frames, non-minimal lengths, lengths and messages above the configured limit,
 *       messages in more empty continuation frames than {@code max_fragments_per_message}, invalid
 *       UTF-8, close frames with any code (1005 among them) or a reason that is not UTF-8; carrying
 *       AIP messages (register, heartbeat, task, task_end, error, device info...) valid, wrong or
 *       mutated, JSON nested past the depth limit and strings of up to a few KB; bursts of frames;
 *       sometimes split across writes;
 *   <li>time passing between writes, so the HTTP deadline, the registration timeout, the idle ping
 *       and its timeout, the duplicate probe, the slow-consumer timer, the forced close and the
 *       lingering close after a 413 fire mid-sequence; the client not reading for a while (its
 *       answers pile up in the channel); and the client closing its socket.
 * </ul>
 *
 * After every write and every tick of the clock:
 *
 * <ul>
 *   <li>no exception reached the end of a pipeline, nothing passed its last handler, and nothing
 *       was logged at WARN or above (the exception handler's "unexpected error", a failed route);
 *   <li>everything the hub wrote is bytes that {@link HubOutputReader} reads as well-formed HTTP
 *       responses, then WebSocket frames: every HTTP error is the hub's JSON {@code {"error":
 *       ...}}; text frames are AIP objects with type and status; close frames carry a close code
 *       RFC 6455 allows; nothing follows a close frame or a {@code Connection: close} response, and
 *       the socket is closed (or its output shut) by then;
 *   <li>after an upgrade, the first data frame is the registration reply or an error, and a socket
 *       still waiting to register got no data frame at all;
 *   <li>no half state: an open socket's connection handler is waiting to register or registered (or
 *       closing, only while the client does not read its close frame, and no longer than the forced
 *       close takes), and the registry holds it exactly while it is registered (or closing); a
 *       closed socket's handler is CLOSED and nothing (registry entry, running session, admission
 *       count, channel group member) is left of it; the registry is consistent, and every running
 *       session's owner and device are online and map it.
 * </ul>
 *
 * At the end of a try every socket closes, which must leave the hub empty, and every buffer the
 * pipelines allocated must have been released.
 */
class HubPipelinePropertyTest {
  private static final String KEY = "pipeline-fuzz-key-0123456789";
  private static final String PEER = "dev-1";
  private static final String WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  private static final int MAX_FRAME = 2048;
  private static final int MAX_FRAGMENTS = 16;
  private static final int MAX_BODY = 1024;
  private static final int MAX_DEPTH = 16;
  private static final long TICK_MILLIS = 100;

  /** Small limits and short timeouts, so the fuzz reaches them cheaply. */
  private static final HubConfig CONFIG =
      HubConfig.builder()
          .set(API_KEY, KEY)
          .set(MAX_FRAME_BYTES, MAX_FRAME)
          .set(MAX_FRAGMENTS_PER_MESSAGE, MAX_FRAGMENTS)
          .set(MAX_BODY_BYTES, MAX_BODY)
          .set(MAX_JSON_DEPTH, MAX_DEPTH)
          .set(BAD_FRAMES_PER_MINUTE, 4)
          .set(HANDSHAKE_TIMEOUT, Duration.ofSeconds(3))
          .set(REGISTRATION_TIMEOUT, Duration.ofSeconds(3))
          .set(IDLE_TIMEOUT, Duration.ofSeconds(6))
          .set(PING_TIMEOUT, Duration.ofSeconds(2))
          .set(PROBE_TIMEOUT, Duration.ofSeconds(1))
          .set(WRITE_BUFFER_LOW, 1024)
          .set(WRITE_BUFFER_HIGH, 2048)
          .set(SLOW_CONSUMER_TIMEOUT, Duration.ofSeconds(2))
          .set(SLOW_CONSUMER_MAX_BYTES, 8192L)
          .build();

  /** How long a hub-side close may wait for a client that does not read its close frame. */
  private static final long FORCE_CLOSE_MILLIS = 3_000;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void noByteStreamBreaksTheHubPipeline() {
    try (LogCapture logs = LogCapture.attach(Level.WARN, "org.aiphub", "io.netty")) {
      Fuzz.forAll(
              500,
              t -> {
                Setup setup = t.draw("setup", Setup::draw);
                List<Step> script = t.draw("script", HubPipelinePropertyTest::script);
                World w = new World(setup, logs);
                try {
                  w.run(script);
                } finally {
                  w.release();
                }
                w.labels.forEach(t::label);
              })
          // The scripts must reach every outcome, or the invariants hold only on the easy paths.
          // Usual shares: refused 26%, upgraded 70%, registered 27%, protocol close 16%, timeout
          // close 15%.
          .expectShare("http refused", 0.08)
          .expectShare("upgraded", 0.23)
          .expectShare("registered", 0.08)
          .expectShare("protocol close", 0.05)
          .expectShare("timeout close", 0.05)
          // Rarer ones, checked only in longer runs (-Dhub.fuzz.tries=4000 checks them all).
          .expectShare("close 1002", 0.03)
          .expectShare("close 1007", 0.013)
          .expectShare("close 1009", 0.007)
          .expectShare("close 1008 registration timeout", 0.025)
          .expectShare("close 4001 idle timeout", 0.008)
          .expectShare("http 408", 0.01)
          .expectShare("event slow consumer", 0.012)
          // Issue 13: other spellings of /ws, HEAD, no Host, data pipelined behind an upgrade,
          // messages in too many fragments.
          .expectShare("http 400", 0.03)
          .expectShare("head answered", 0.02)
          .expectShare("close 1002 early data", 0.02)
          .expectShare("close 1009 fragments", 0.007)
          .expectShare("event limit max_fragments_per_message", 0.007);
    }
  }

  // ----------------------------------------------------------------------------------- world

  /**
   * What a try's hub looks like besides the script.
   *
   * @param directBuffers whether the pipelines allocate direct buffers (the AIP codec copies them
   *     out another way than heap buffers)
   * @param peerAnswersPings whether the peer device answers pings (if not, the idle timeout closes
   *     it, and a registration of its id replaces it after a probe)
   * @param peerEndsTasks whether the peer answers each task with a task_end
   * @param maxConnections the admission cap (1: the fuzzed socket is turned away at connect)
   * @param policy what a registration of an online id does (takeover: closes the holder, 4000)
   */
  record Setup(
      boolean directBuffers,
      boolean peerAnswersPings,
      boolean peerEndsTasks,
      int maxConnections,
      DuplicatePolicy policy) {
    static Setup draw(SplittableRandom r) {
      return new Setup(
          r.nextBoolean(),
          r.nextInt(5) != 0,
          r.nextBoolean(),
          r.nextInt(25) == 0 ? 1 : 8,
          r.nextInt(4) == 0 ? DuplicatePolicy.TAKEOVER : DuplicatePolicy.REJECT);
    }

    HubConfig config() {
      return CONFIG.toBuilder().set(DUPLICATE_POLICY, policy).build();
    }
  }

  /** One socket and what it has seen. */
  private static final class Client {
    final String name;
    final EmbeddedSocketChannel ch;
    final HubOutputReader out = new HubOutputReader();
    final ArrayDeque<String> transcript = new ArrayDeque<>();
    final ByteArrayOutputStream unread = new ByteArrayOutputStream();
    ConnectionHandler handler;
    long closingSince = -1;
    boolean upgraded;
    boolean everRegistered;
    boolean closeFrameOut;
    boolean httpClose;
    ServerMessage firstData;
    int dataFrames;
    final List<Integer> statuses = new ArrayList<>();
    final List<String> closes = new ArrayList<>();

    Client(String name, EmbeddedSocketChannel ch) {
      this.name = name;
      this.ch = ch;
    }

    void log(String line) {
      transcript.addLast(line.length() > 300 ? line.substring(0, 300) + "..." : line);
      if (transcript.size() > 30) {
        transcript.removeFirst();
      }
    }

    @Override
    public String toString() {
      return name
          + (ch.isOpen() ? " open" : " closed")
          + (handler == null ? ", not upgraded" : ", " + handler.state())
          + "; last events:\n      "
          + String.join("\n      ", transcript);
    }
  }

  /** Last in every pipeline: notes the connection handler before a closed pipeline is torn down. */
  private static final class Tail extends ChannelInboundHandlerAdapter {
    private final Client client;

    Tail(Client client) {
      this.client = client;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      ConnectionHandler h = ctx.pipeline().get(ConnectionHandler.class);
      if (h != null) {
        client.handler = h;
      }
      super.channelInactive(ctx);
    }
  }

  /** Unpooled buffers, each one remembered, so a try can tell whether all were released. */
  private static final class TrackingAllocator extends AbstractByteBufAllocator {
    final List<ByteBuf> allocated = new ArrayList<>();

    TrackingAllocator(boolean direct) {
      super(direct);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
      allocated.add(b);
      return b;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
      allocated.add(b);
      return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }
  }

  /** One try's hub, its two sockets and the clock they share. */
  private static final class World {
    final Setup setup;
    final LogCapture logs;
    final int logsBefore;
    final MockTicker ticker = Ticker.newMockTicker();
    final TrackingAllocator alloc;
    final ClientRegistry registry;
    final SessionTable sessions;
    final AdmissionControl admission;
    final ChannelGroup channels = new DefaultChannelGroup("fuzz", GlobalEventExecutor.INSTANCE);
    final HubChannelInitializer initializer;
    final List<Client> clients = new ArrayList<>();
    final Client peer;
    final Set<String> labels = new TreeSet<>();
    private int nextPort = 40_000;

    World(Setup setup, LogCapture logs) {
      this.setup = setup;
      this.logs = logs;
      this.logsBefore = logs.events().size();
      this.alloc = new TrackingAllocator(setup.directBuffers());
      Clock clock = Clock.systemUTC();
      registry =
          ClientRegistry.builder()
              .policy(setup.policy())
              .defaultMaxConcurrentTasks(CONFIG.limits().defaultMaxConcurrentTasks())
              .maxSessionsPerOwner(CONFIG.limits().maxSessionsPerConstellation())
              .clock(clock)
              .build();
      sessions = new SessionTable(CONFIG.history().size(), CONFIG.history().age(), clock);
      TaskRouter router = new TaskRouter(registry, sessions, clock, RouterEvents.NONE);
      admission = new AdmissionControl(setup.maxConnections(), 0, 0, ticker::nanoTime);
      OriginPolicy origins =
          new OriginPolicy(
              CONFIG.security().allowedHosts(),
              CONFIG.security().allowedOrigins(),
              CONFIG.listen().host());
      ApiKey key = ApiKey.of(KEY);
      HttpApiHandler api =
          new HttpApiHandler(
              new ApiRoutes(
                  registry,
                  sessions,
                  router,
                  () -> "# metrics\n",
                  new DeviceConfigReloader(null, registry, () -> {}),
                  clock),
              key,
              Runnable::run,
              (route, status) -> {},
              origins);
      ConnectionEvents events =
          new ConnectionEvents() {
            @Override
            public void connectionRefused(String reason) {
              labels.add("event refused " + reason);
            }

            @Override
            public void registrationTimedOut() {
              labels.add("event registration timed out");
            }

            @Override
            public void tooManyBadFrames() {
              labels.add("event too many bad frames");
            }

            @Override
            public void slowConsumerClosed() {
              labels.add("event slow consumer");
            }

            @Override
            public void idleClosed() {
              labels.add("event idle closed");
            }

            @Override
            public void limitExceeded(String limit) {
              labels.add("event limit " + limit);
            }
          };
      initializer =
          new HubChannelInitializer(
              setup.config(), key, router, channels, events, api, admission, origins, null);

      peer = connect("peer");
      send(peer, upgradeRequest(List.of()));
      send(peer, clientFrame(HubOutputReader.TEXT, true, 0, true, 0x1234_5678, register(PEER)));
      check();
      assertThat(peer.handler.state())
          .as("the peer registered")
          .isEqualTo(ConnectionHandler.State.REGISTERED);
    }

    Client connect(String name) {
      EmbeddedSocketChannel ch =
          new EmbeddedSocketChannel(
              ticker,
              alloc,
              new WriteBufferWaterMark(
                  CONFIG.limits().writeBufferLow(), CONFIG.limits().writeBufferHigh()),
              new InetSocketAddress(InetAddress.getLoopbackAddress(), nextPort++),
              initializer);
      Client c = new Client(name, ch);
      ch.pipeline().addLast("fuzz-tail", new Tail(c));
      clients.add(c);
      settle();
      return c;
    }

    /** Runs the script on a new socket, checking after each step, then closes everything. */
    void run(List<Step> script) {
      Client conn = connect("fuzzed");
      if (!conn.ch.isOpen()) {
        labels.add("refused at connect");
      }
      boolean dropped = false;
      for (int i = 0; i < script.size() && conn.ch.isOpen(); i++) {
        Step step = script.get(i);
        try {
          conn.log("-> " + step);
          if (step instanceof Send) {
            if (((Send) step).what().startsWith(HEAD_REQUEST)) {
              conn.out.nextAnswersHead(); // (the script's first request: its answer comes first)
            }
            send(conn, ((Send) step).bytes());
          } else if (step instanceof Wait) {
            advance(((Wait) step).millis());
          } else if (step instanceof Reading) {
            conn.ch.peerReads(((Reading) step).on());
            settle();
          } else {
            dropped = true;
            conn.ch.close();
            settle();
          }
          check();
        } catch (AssertionError | RuntimeException e) {
          throw new AssertionError("at step " + i + " (" + step + "): " + e + "\n" + this, e);
        }
      }
      if (!conn.ch.isOpen() && !dropped) {
        labels.add("closed by the hub");
      }
      try {
        closeAll();
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError("closing at the end: " + e + "\n" + this, e);
      }
      label(conn);
      if (!peer.closes.isEmpty()) {
        labels.add("peer closed: " + peer.closes.get(0));
      }
    }

    private void label(Client c) {
      if (!c.upgraded && c.statuses.stream().anyMatch(s -> s >= 400)) {
        labels.add("http refused");
      }
      if (c.transcript.stream().anyMatch(l -> l.startsWith("-> " + HEAD_REQUEST))
          && !c.statuses.isEmpty()) {
        labels.add("head answered");
      }
      c.statuses.forEach(s -> labels.add("http " + s));
      if (c.upgraded) {
        labels.add("upgraded");
      }
      if (c.everRegistered) {
        labels.add("registered");
      }
      labels.addAll(c.closes);
      for (String close : c.closes) {
        if (close.startsWith("close 1002")
            || close.startsWith("close 1007")
            || close.startsWith("close 1009")) {
          labels.add("protocol close");
        }
        if (close.endsWith("timeout")) {
          labels.add("timeout close");
        }
      }
      if (c.statuses.contains(408)) {
        labels.add("timeout close");
      }
      if (c.ch.writesAfterShutdown() > 0) {
        labels.add("writes after the output was shut");
      }
    }

    // ------------------------------------------------------------------------------- driving

    void send(Client c, byte[] bytes) {
      feed(c, bytes);
      settle();
    }

    /**
     * Writes bytes into a socket without settling (the peer's answers, from inside settle); while
     * the pipeline has auto-read off they wait, as in the kernel, until it turns it on again.
     */
    private void feed(Client c, byte[] bytes) {
      if (c.unread.size() > 0 || !c.ch.config().isAutoRead()) {
        c.unread.writeBytes(bytes);
        return;
      }
      ByteBuf b = c.ch.alloc().buffer(bytes.length).writeBytes(bytes);
      c.ch.writeInbound(b); // rethrows whatever reached the pipeline's end
    }

    /** Hands over bytes held back while auto-read was off, once it is on. */
    private boolean deliverUnread(Client c) {
      if (c.unread.size() == 0 || !c.ch.isOpen() || !c.ch.config().isAutoRead()) {
        return false;
      }
      byte[] bytes = c.unread.toByteArray();
      c.unread.reset();
      feed(c, bytes);
      return true;
    }

    /** Moves the shared clock in ticks, running what falls due on each socket after each tick. */
    void advance(long millis) {
      for (long left = millis; left > 0; left -= TICK_MILLIS) {
        ticker.advance(Math.min(left, TICK_MILLIS), TimeUnit.MILLISECONDS);
        settle();
      }
    }

    /** Runs pending tasks and reads the hub's output until both sockets are quiet. */
    void settle() {
      for (int round = 0; ; round++) {
        boolean busy = false;
        for (Client c : new ArrayList<>(clients)) {
          c.ch.runPendingTasks();
          busy |= deliverUnread(c);
          busy |= drain(c);
        }
        for (Client c : clients) {
          // A task run for one socket may write to another one drained earlier in the round (a
          // registration probe that ends by closing the silent holder of its id).
          busy |= !c.ch.outboundMessages().isEmpty();
        }
        if (!busy) {
          return;
        }
        if (round == 100) {
          fail("the pipelines keep writing: not quiet after 100 rounds");
        }
      }
    }

    private boolean drain(Client c) {
      boolean any = false;
      for (Object o; (o = c.ch.readOutbound()) != null; ) {
        any = true;
        if (!(o instanceof ByteBuf)) {
          String what = o.getClass().getSimpleName() + " " + o;
          ReferenceCountUtil.release(o);
          fail("%s: the hub wrote a %s that no encoder turned into bytes", c.name, what);
        }
        ByteBuf b = (ByteBuf) o;
        byte[] bytes = ByteBufUtil.getBytes(b);
        b.release();
        List<Event> events;
        try {
          events = c.out.read(bytes);
        } catch (AssertionError e) {
          throw new AssertionError(c.name + ": " + e.getMessage(), e);
        }
        for (Event e : events) {
          handle(c, e);
        }
      }
      return any;
    }

    private void handle(Client c, Event e) {
      c.log("<- " + e);
      if (e instanceof Response) {
        Response r = (Response) e;
        c.statuses.add(r.status());
        if (r.status() == 101) {
          c.upgraded = true;
        }
        if (r.connectionHas("close") || r.closeDelimited()) {
          c.httpClose = true;
        }
        String type = r.header("content-type");
        if (r.status() >= 400 && (type == null || !type.startsWith("application/json"))) {
          // The hub's rule: every HTTP error is {"error": text} (the reader checks the body).
          fail("%s: an HTTP %d error that is not JSON: %s", c.name, r.status(), r.headers());
        }
        return;
      }
      Frame f = (Frame) e;
      switch (f.opcode()) {
        case HubOutputReader.TEXT:
          {
            ServerMessage m = f.message();
            c.dataFrames++;
            if (c.firstData == null) {
              c.firstData = m;
              boolean reply =
                  m.type() == ServerMessageType.HEARTBEAT && m.status() == TaskStatus.OK;
              if (!reply && m.type() != ServerMessageType.ERROR) {
                fail(
                    "%s: the first data frame is neither the registration reply nor an error: %s",
                    c.name, f);
              }
            }
            if (c == peer
                && setup.peerEndsTasks()
                && m.type() == ServerMessageType.TASK
                && m.sessionId() != null
                && c.ch.isOpen()) {
              feed(c, clientFrame(HubOutputReader.TEXT, true, 0, true, 77, taskEnd(m.sessionId())));
            }
            break;
          }
        case HubOutputReader.CLOSE:
          c.closeFrameOut = true;
          String reason = f.closeReason();
          String label = "close " + f.closeCode();
          if (reason.equals("registration timeout") || reason.equals("idle timeout")) {
            label += " " + reason;
          } else if (reason.startsWith("data before the WebSocket handshake")) {
            label += " early data";
          } else if (reason.contains("fragments")) {
            label += " fragments";
          }
          // A 1011 of the hub's own comes with the exception handler's warning, which check()
          // reports; a 1011 here may also echo the client's close.
          c.closes.add(label);
          break;
        case HubOutputReader.PING:
          if (c == peer && setup.peerAnswersPings() && c.ch.isOpen()) {
            feed(c, clientFrame(HubOutputReader.PONG, true, 0, true, 99, f.payload()));
          }
          break;
        default:
          break;
      }
    }

    // -------------------------------------------------------------------------------- checks

    void check() {
      List<ILoggingEvent> logged = logs.events();
      if (logged.size() > logsBefore) {
        ILoggingEvent e = logged.get(logsBefore);
        fail("logged at %s by %s: %s", e.getLevel(), e.getLoggerName(), LogCapture.fullText(e));
      }
      int open = 0;
      for (Client c : clients) {
        checkClient(c);
        if (c.ch.isOpen()) {
          open++;
        }
      }
      assertThat(admission.open()).as("admitted sockets").isEqualTo(open);
      assertThat(channels.size()).as("channel group members").isEqualTo(open);
      assertThat(HubInternals.consistencyProblems(registry)).as("registry consistency").isEmpty();
      for (String id : registry.listClients()) {
        ClientConnection held = registry.getClient(id).orElseThrow();
        Client owner = null;
        for (Client c : clients) {
          if (c.handler != null && c.handler.connection() == held) {
            owner = c;
          }
        }
        assertThat(owner).as("the socket of registry entry %s", id).isNotNull();
        assertThat(owner.ch.isOpen()).as("%s's socket (%s) is open", id, owner.name).isTrue();
        assertThat(owner.handler.state())
            .isIn(ConnectionHandler.State.REGISTERED, ConnectionHandler.State.CLOSING);
        assertThat(owner.handler.identity().clientId()).isEqualTo(id);
      }
      for (Session s : sessions.list(Session::isRunning, Integer.MAX_VALUE)) {
        assertThat(registry.isOnline(s.executorId())).as("device of running %s", s).isTrue();
        assertThat(registry.getDeviceSessions(s.executorId())).as("%s", s).contains(s.id());
        if (s.ownerId() != null) {
          assertThat(registry.isOnline(s.ownerId())).as("owner of running %s", s).isTrue();
          assertThat(registry.getConstellationSessions(s.ownerId())).as("%s", s).contains(s.id());
        }
      }
    }

    private void checkClient(Client c) {
      c.ch.checkException();
      assertThat(c.ch.inboundMessages()).as("%s: passed the last handler", c.name).isEmpty();
      assertThat(c.out.pending())
          .as("%s: bytes of an unfinished response or frame", c.name)
          .isZero();
      ConnectionHandler h = c.ch.pipeline().get(ConnectionHandler.class);
      if (h != null) {
        c.handler = h;
      }
      if (c.upgraded) {
        assertThat(c.handler).as("%s: upgraded without a connection handler", c.name).isNotNull();
      }
      if (c.ch.isOpen()) {
        assertThat(c.closeFrameOut).as("%s: open after the hub's close frame", c.name).isFalse();
        if (c.httpClose) {
          assertThat(c.ch.outputWasShut())
              .as("%s: open and writable after Connection: close", c.name)
              .isTrue();
        }
      } else {
        assertThat(channels.contains(c.ch))
            .as("%s: closed but in the channel group", c.name)
            .isFalse();
      }
      if (c.handler == null) {
        return;
      }
      ConnectionHandler.State state = c.handler.state();
      ClientConnection mine = c.handler.connection();
      if (c.ch.isOpen() && state == ConnectionHandler.State.CLOSING) {
        // Its close frame is stuck behind a client that does not read; the forced close comes.
        assertThat(c.ch.peerReads()).as("%s: closing, and the client reads", c.name).isFalse();
        if (c.closingSince < 0) {
          c.closingSince = ticker.nanoTime();
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(ticker.nanoTime() - c.closingSince))
            .as("%s: closing for too long", c.name)
            .isLessThanOrEqualTo(FORCE_CLOSE_MILLIS + TICK_MILLIS);
      } else if (c.ch.isOpen()) {
        assertThat(state)
            .as("%s: state of an open socket", c.name)
            .isIn(ConnectionHandler.State.AWAITING_REGISTER, ConnectionHandler.State.REGISTERED);
      } else {
        assertThat(state)
            .as("%s: state of a closed socket", c.name)
            .isEqualTo(ConnectionHandler.State.CLOSED);
      }
      if (state == ConnectionHandler.State.REGISTERED) {
        c.everRegistered = true;
        if (c.ch.peerReads()) { // (else the 101 may still wait in the channel)
          assertThat(c.upgraded).as("%s: registered without an upgrade", c.name).isTrue();
        }
        assertThat(registry.getClient(c.handler.identity().clientId()))
            .as("%s: registered but not in the registry", c.name)
            .containsSame(mine);
      } else if (state != ConnectionHandler.State.CLOSING) {
        // (A closing client keeps its entry until its socket closes: one disconnect path.)
        for (String id : registry.listClients()) {
          assertThat(registry.getClient(id).orElseThrow())
              .as("%s: entry %s while %s", c.name, id, state)
              .isNotSameAs(mine);
        }
      }
      if (state == ConnectionHandler.State.AWAITING_REGISTER) {
        assertThat(c.dataFrames).as("%s: data frames before registering", c.name).isZero();
      }
      if (c.everRegistered && (c.firstData != null || c.ch.peerReads())) {
        assertThat(c.firstData).as("%s: registered without a reply", c.name).isNotNull();
        assertThat(c.firstData.type()).isEqualTo(ServerMessageType.HEARTBEAT);
        assertThat(c.firstData.status()).isEqualTo(TaskStatus.OK);
      }
    }

    /** Every socket closes (the client's side), which must leave nothing behind. */
    void closeAll() {
      for (Client c : clients) {
        if (c.ch.isOpen()) {
          c.ch.close();
          settle();
          check();
        }
      }
      assertThat(registry.listClients()).as("registry after every socket closed").isEmpty();
      assertThat(admission.open()).isZero();
      assertThat(channels.size()).as("channel group members").isZero();
      assertThat(sessions.list(Session::isRunning, 10)).as("running sessions").isEmpty();
      for (Client c : clients) {
        assertThat(c.ch.finishAndReleaseAll()).as("%s: messages left", c.name).isFalse();
      }
      List<String> leaks = new ArrayList<>();
      for (ByteBuf b : alloc.allocated) {
        if (b.refCnt() != 0) {
          leaks.add(
              b.refCnt()
                  + "x "
                  + b.toString(0, Math.min(b.writerIndex(), 120), StandardCharsets.ISO_8859_1));
        }
      }
      assertThat(leaks).as("buffers never released").isEmpty();
    }

    /** After a failure too: nothing of this try stays allocated. */
    void release() {
      for (Client c : clients) {
        try {
          c.ch.finishAndReleaseAll();
        } catch (RuntimeException ignored) {
          // already reported, or the try failed for another reason
        }
      }
      for (ByteBuf b : alloc.allocated) {
        if (b.refCnt() > 0) {
          b.release(b.refCnt());
        }
      }
    }

    @Override
    public String toString() {
      StringBuilder b = new StringBuilder("  setup ").append(setup);
      for (Client c : clients) {
        b.append("\n  ").append(c);
      }
      return b.toString();
    }
  }

  // ------------------------------------------------------------------------------- the script

  /** One thing the fuzzed client does. */
  sealed interface Step permits Send, Wait, Reading, Drop {}

  /** Writes bytes. */
  record Send(String what, byte[] bytes) implements Step {
    @Override
    public String toString() {
      String shown = Fuzz.show(bytes);
      return what + " [" + (shown.length() > 200 ? shown.substring(0, 200) + "..." : shown) + "]";
    }
  }

  /** Lets time pass. */
  record Wait(long millis) implements Step {
    @Override
    public String toString() {
      return "wait " + millis + " ms";
    }
  }

  /** The client stops or starts reading what the hub sends. */
  record Reading(boolean on) implements Step {
    @Override
    public String toString() {
      return on ? "client reads again" : "client stops reading";
    }
  }

  /** Closes the client's socket. */
  record Drop() implements Step {
    @Override
    public String toString() {
      return "client closes its socket";
    }
  }

  /** What a HEAD request's send is called: its answer has no body (see World.run). */
  private static final String HEAD_REQUEST = "head request";

  /**
   * 3 in 10: an HTTP phase (1 in 4 starting with a HEAD request), then (1 in 3) an upgrade; else an
   * upgrade and WebSocket traffic.
   */
  static List<Step> script(SplittableRandom r) {
    List<Step> s = new ArrayList<>();
    if (r.nextInt(10) < 3) {
      if (r.nextInt(4) == 0) {
        s.add(new Send(HEAD_REQUEST, headRequest(r)));
      }
      httpPhase(r, s);
      if (r.nextInt(3) != 0) {
        return s;
      }
    }
    List<Step> upgrade = new ArrayList<>();
    byte[] request = upgradeRequest(validVariations(r));
    if (r.nextInt(5) == 0) {
      // Delivered in two parts, rarely with enough time in between for the HTTP deadline.
      int cut = r.nextInt(1, request.length);
      upgrade.add(new Send("upgrade (part 1)", Arrays.copyOf(request, cut)));
      upgrade.add(new Wait(r.nextInt(8) == 0 ? r.nextLong(2000, 4000) : r.nextLong(0, 500)));
      upgrade.add(new Send("upgrade (part 2)", Arrays.copyOfRange(request, cut, request.length)));
    } else if (r.nextInt(10) == 0) {
      // RFC 6455 4.1: nothing before the handshake's answer. A request pipelined behind the
      // upgrade must neither be served (a second upgrade, with no key) nor vanish.
      byte[] behind =
          r.nextBoolean()
              ? ascii(
                  "GET /ws HTTP/1.1\r\nHost: evil.example\r\nOrigin: https://evil.example\r\n"
                      + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                      + WS_KEY
                      + "\r\nSec-WebSocket-Version: 8\r\n\r\n")
              : apiRequest(r);
      upgrade.add(new Send("upgrade + pipelined request", concat(request, behind)));
    } else {
      upgrade.add(new Send("upgrade", request));
    }
    List<Step> ws = webSocketPhase(r);
    if (!ws.isEmpty()
        && ws.get(0) instanceof Send
        && upgrade.get(upgrade.size() - 1) instanceof Send
        && r.nextInt(6) == 0) {
      // The first frame in the same write as the end of the request.
      Send last = (Send) upgrade.remove(upgrade.size() - 1);
      Send first = (Send) ws.remove(0);
      upgrade.add(
          new Send(last.what() + " + " + first.what(), concat(last.bytes(), first.bytes())));
    }
    s.addAll(upgrade);
    s.addAll(ws);
    return s;
  }

  // ------------------------------------------------------------------------------------- HTTP

  private static void httpPhase(SplittableRandom r, List<Step> s) {
    for (int n = r.nextInt(1, 5); n > 0; n--) {
      switch (weighted(r, 2, 3, 6, 1, 1, 1)) {
        case 0:
          splitMaybe(r, "random bytes", randomBytesOrText(r), s);
          break;
        case 1:
          splitMaybe(r, "api request", apiRequest(r), s);
          break;
        case 2:
          splitMaybe(r, "mutated upgrade", mutatedUpgrade(r), s);
          break;
        case 3:
          splitMaybe(r, "oversized body", oversizedBody(r), s);
          break;
        case 4:
          {
            // Pipelined requests for large answers, often unread: the deadline's backpressure.
            if (r.nextInt(3) != 0) {
              s.add(new Reading(false));
            }
            StringBuilder b = new StringBuilder();
            for (int k = r.nextInt(2, 7); k > 0; k--) {
              b.append("GET ")
                  .append(oneOf(r, "/dashboard.js", "/", "/healthz", "/api/stats"))
                  .append(" HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nX-API-Key: ")
                  .append(KEY)
                  .append("\r\n\r\n");
            }
            s.add(new Send("pipelined requests", ascii(b.toString())));
            s.add(new Wait(r.nextLong(500, 5000)));
            if (r.nextBoolean()) {
              s.add(new Reading(true));
            }
            break;
          }
        default:
          s.add(new Wait(r.nextLong(100, 5000)));
          break;
      }
    }
  }

  /** A send, or (1 in 5) the same bytes cut in two with time passing in between. */
  private static void splitMaybe(SplittableRandom r, String what, byte[] bytes, List<Step> s) {
    if (bytes.length < 2 || r.nextInt(5) != 0) {
      s.add(new Send(what, bytes));
      return;
    }
    int cut = r.nextInt(1, bytes.length);
    s.add(new Send(what + " (part 1)", Arrays.copyOf(bytes, cut)));
    s.add(new Wait(r.nextInt(3) == 0 ? r.nextLong(2000, 4000) : r.nextLong(0, 500)));
    if (r.nextInt(4) != 0) {
      s.add(new Send(what + " (part 2)", Arrays.copyOfRange(bytes, cut, bytes.length)));
    }
  }

  private static byte[] randomBytesOrText(SplittableRandom r) {
    if (r.nextBoolean()) {
      return randomBytes(r, 300);
    }
    StringBuilder b = new StringBuilder();
    for (int n = r.nextInt(1, 200); n > 0; n--) {
      b.append(r.nextInt(8) == 0 ? "\r\n" : String.valueOf((char) r.nextInt(0x20, 0x7f)));
    }
    return ascii(b.toString());
  }

  private static final String[] API_PATHS = {
    "/healthz",
    "/api/health",
    "/api/clients",
    "/api/stats",
    "/api/sessions",
    "/api/devices",
    "/api/devices/" + PEER,
    "/api/task_result/t1",
    "/metrics",
    "/",
    "/nope",
    "/ws/not-the-endpoint",
  };

  private static byte[] apiRequest(SplittableRandom r) {
    StringBuilder b = new StringBuilder();
    boolean dispatch = r.nextInt(8) == 0;
    String body =
        dispatch
            ? "{\"client_id\":\"" + oneOf(r, PEER, "dev-9") + "\",\"request\":\"do it\"}"
            : null;
    b.append(dispatch ? "POST /api/dispatch" : "GET " + oneOf(r, API_PATHS))
        .append(" HTTP/1.1\r\n");
    // HTTP/1.1 requires exactly one Host: none or two get a 400.
    switch (weighted(r, 8, 1, 1)) {
      case 0:
        b.append("Host: ")
            .append(oneOf(r, "127.0.0.1:5000", "localhost", "evil.example"))
            .append("\r\n");
        break;
      case 1:
        break;
      default:
        b.append("Host: 127.0.0.1:5000\r\nHost: evil.example\r\n");
        break;
    }
    switch (r.nextInt(3)) {
      case 0:
        b.append("X-API-Key: ").append(KEY).append("\r\n");
        break;
      case 1:
        b.append("Authorization: Bearer ").append(oneOf(r, KEY, "wrong-key")).append("\r\n");
        break;
      default:
        break;
    }
    if (r.nextInt(3) == 0) {
      b.append("Connection: close\r\n");
    }
    if (body != null) {
      b.append("Content-Type: application/json\r\nContent-Length: ").append(body.length());
      b.append("\r\n\r\n").append(body);
    } else {
      b.append("\r\n");
    }
    return ascii(b.toString());
  }

  /** A well-formed HEAD request (its answer must come without a body). */
  private static byte[] headRequest(SplittableRandom r) {
    String key = r.nextInt(4) == 0 ? "" : "X-API-Key: " + KEY + "\r\n";
    return ascii(
        "HEAD "
            + oneOf(r, "/healthz", "/api/clients", "/api/stats", "/", "/api/dispatch", "/nope")
            + (r.nextInt(6) == 0 ? "/ws?token=" + KEY : "")
            + " HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n"
            + key
            + "\r\n");
  }

  private static byte[] oversizedBody(SplittableRandom r) {
    int length = MAX_BODY + r.nextInt(1, 2000);
    boolean expect = r.nextBoolean();
    String head =
        "POST /api/dispatch HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nX-API-Key: "
            + KEY
            + "\r\nContent-Length: "
            + length
            + (expect ? "\r\nExpect: 100-continue" : "")
            + "\r\n\r\n";
    byte[] body = new byte[r.nextInt(0, length + 1)];
    Arrays.fill(body, (byte) 'x');
    return concat(ascii(head), body);
  }

  /** The header lines of a good upgrade, in one of its accepted forms. */
  private static List<String> validVariations(SplittableRandom r) {
    List<String> extra = new ArrayList<>();
    if (r.nextInt(4) == 0) {
      extra.add("Authorization: Bearer " + KEY);
    }
    if (r.nextInt(4) == 0) {
      extra.add("Origin: http://localhost:5000");
    }
    if (r.nextInt(4) == 0) {
      extra.add("User-Agent: fuzz/1.0");
    }
    return extra;
  }

  /** A good upgrade request with {@code extra} header lines (a bearer header replaces ?token). */
  private static byte[] upgradeRequest(List<String> extra) {
    return ascii(String.join("\r\n", upgradeLines(extra)) + "\r\n\r\n");
  }

  private static List<String> upgradeLines(List<String> extra) {
    boolean bearer = extra.stream().anyMatch(l -> l.startsWith("Authorization:"));
    List<String> lines = new ArrayList<>();
    lines.add("GET /ws" + (bearer ? "" : "?token=" + KEY) + " HTTP/1.1");
    lines.add("Host: 127.0.0.1:5000");
    lines.add("Upgrade: websocket");
    lines.add("Connection: Upgrade");
    lines.add("Sec-WebSocket-Key: " + WS_KEY);
    lines.add("Sec-WebSocket-Version: 13");
    lines.addAll(extra);
    return lines;
  }

  /** An upgrade request with one or two things wrong, then (1 in 3) its bytes mutated. */
  private static byte[] mutatedUpgrade(SplittableRandom r) {
    List<String> lines = upgradeLines(validVariations(r));
    for (int n = r.nextInt(1, 3); n > 0; n--) {
      switch (r.nextInt(18)) {
        case 17:
          // The AIP path in another spelling: a 400, never a half-installed WebSocket.
          lines.set(
              0, lines.get(0).replaceFirst("/ws", oneOf(r, "/w%73", "/%77s", "/%77%73", "/ws#x")));
          break;
        case 0:
          lines.set(0, lines.get(0).replace(KEY, oneOf(r, "wrong", "", KEY + "x")));
          break;
        case 16:
          lines.set(
              0, lines.get(0).replace(oneOf(r, "/ws", "token="), oneOf(r, "/ws%zz", "token=%e")));
          break;
        case 1:
          lines.set(0, lines.get(0).replace("?token=" + KEY, ""));
          break;
        case 2:
          replace(lines, "Host:", oneOf(r, "Host: evil.example", "Host: 10.0.0.1:5000", null));
          break;
        case 3:
          lines.add("Origin: " + oneOf(r, "http://evil.example", "null", "http://localhost:5000"));
          break;
        case 4:
          // No HEAD: its answer has a Content-Length and no body, which the reader, knowing
          // nothing of the requests, would wait for.
          lines.set(0, lines.get(0).replace("GET", oneOf(r, "POST", "PUT", "DELETE", "get")));
          break;
        case 5:
          replace(lines, "Upgrade:", oneOf(r, "Upgrade: h2c", "Upgrade: websocket, foo", null));
          break;
        case 6:
          replace(
              lines, "Connection:", oneOf(r, "Connection: keep-alive", "Connection: close", null));
          break;
        case 7:
          replace(lines, "Sec-WebSocket-Key:", oneOf(r, "Sec-WebSocket-Key: abc", null));
          break;
        case 8:
          replace(
              lines,
              "Sec-WebSocket-Version:",
              oneOf(r, "Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 14", null));
          break;
        case 9:
          lines.set(0, lines.get(0).replace("HTTP/1.1", oneOf(r, "HTTP/1.0", "HTTP/2.0", "HTTX")));
          break;
        case 10:
          lines.add(
              oneOf(
                  r,
                  "Sec-WebSocket-Extensions: permessage-deflate",
                  "Sec-WebSocket-Protocol: aip"));
          break;
        case 11:
          lines.add("Content-Length: 5\r\n\r\nhello");
          break;
        case 12:
          lines.add("X-Filler: " + "x".repeat(r.nextInt(7000, 10000)));
          break;
        case 13:
          lines.set(0, lines.get(0).replace("/ws", "/ws" + "/x".repeat(r.nextInt(1, 3000))));
          break;
        case 14:
          lines.add(
              "Transfer-Encoding: chunked\r\n\r\n" + oneOf(r, "5\r\nhello\r\n0\r\n", "zz\r\n"));
          break;
        default:
          lines.add("Expect: 100-continue\r\nContent-Length: " + oneOf(r, "10", "5000"));
          break;
      }
    }
    byte[] bytes = ascii(String.join("\r\n", lines) + "\r\n\r\n");
    return r.nextInt(3) == 0 ? mutate(r, bytes) : bytes;
  }

  /** Replaces the line starting with {@code prefix} ({@code null}: removes it). */
  private static void replace(List<String> lines, String prefix, String line) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(prefix)) {
        if (line == null) {
          lines.remove(i);
        } else {
          lines.set(i, line);
        }
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------- WebSocket

  /**
   * 5 in 6 a registration first; then up to 20 actions, or (1 in 7) only control frames and time
   * passing, as a client that never registers; then (1 in 2) a long wait.
   */
  private static List<Step> webSocketPhase(SplittableRandom r) {
    List<Step> s = new ArrayList<>();
    String me = "dev-2";
    if (r.nextInt(7) == 0) {
      for (int n = r.nextInt(1, 6); n > 0; n--) {
        if (r.nextBoolean()) {
          s.add(new Wait(r.nextLong(100, 2000)));
        } else {
          int opcode = r.nextBoolean() ? HubOutputReader.PING : HubOutputReader.PONG;
          sendFrames(r, "control", List.of(control(r, opcode, randomBytes(r, 20))), s);
        }
      }
      s.add(new Wait(r.nextLong(1000, 5000)));
      return s;
    }
    if (r.nextInt(6) != 0) {
      Map<String, Object> reg = registration(r);
      me = reg.get("client_id") instanceof String ? (String) reg.get("client_id") : me;
      sendFrames(r, "register " + me, List.of(data(r, HubOutputReader.TEXT, write(reg))), s);
    }
    // 1 in 3 scripts play a mostly well-behaved client, so that registered connections live long
    // enough to meet time passing, slow reading and each other's messages.
    boolean gentle = r.nextInt(3) == 0;
    for (int n = r.nextInt(21); n > 0; n--) {
      action(r, me, gentle, s);
    }
    if (r.nextBoolean()) {
      s.add(new Wait(r.nextLong(3000, 12_000)));
    }
    return s;
  }

  private static void action(SplittableRandom r, String me, boolean gentle, List<Step> s) {
    int rare = gentle ? 0 : 1;
    switch (weighted(
        r, 16, 4, 6 * rare, 4 * rare, 2, 2, 2 * rare, 7 * rare, rare, 8, 3, 3, 2 * rare, rare)) {
      case 0:
        {
          int opcode = r.nextInt(8) == 0 ? HubOutputReader.BINARY : HubOutputReader.TEXT;
          sendFrames(r, "aip", List.of(data(r, opcode, write(aipMessage(r, me)))), s);
          break;
        }
      case 1:
        sendFrames(r, "fragmented aip", fragments(r, write(aipMessage(r, me)), false), s);
        break;
      case 2:
        sendFrames(
            r,
            "mutated aip",
            List.of(data(r, HubOutputReader.TEXT, mutate(r, write(aipMessage(r, me))))),
            s);
        break;
      case 3:
        {
          byte[] big = deepOrBig(r, me);
          List<byte[]> frames =
              r.nextInt(3) == 0
                  ? fragments(r, big, false)
                  : List.of(data(r, HubOutputReader.TEXT, big));
          sendFrames(r, "deep or big aip", frames, s);
          break;
        }
      case 4:
        sendFrames(r, "ping", List.of(control(r, HubOutputReader.PING, randomBytes(r, 125))), s);
        break;
      case 5:
        sendFrames(r, "pong", List.of(control(r, HubOutputReader.PONG, randomBytes(r, 125))), s);
        break;
      case 6:
        sendFrames(r, "close", List.of(control(r, HubOutputReader.CLOSE, closeBody(r))), s);
        break;
      case 7:
        violation(r, s);
        break;
      case 8:
        s.add(new Send("garbage", randomBytes(r, 64)));
        break;
      case 9:
        s.add(new Wait(r.nextInt(4) == 0 ? r.nextLong(2000, 9000) : r.nextLong(1, 1500)));
        break;
      case 10:
        s.add(new Reading(r.nextBoolean()));
        break;
      case 11:
        {
          // Many small frames in one write, each answered: fills a client that does not read.
          if (r.nextBoolean()) {
            s.add(new Reading(false));
          }
          List<byte[]> frames = new ArrayList<>();
          for (int n = r.nextInt(10, 80); n > 0; n--) {
            frames.add(
                r.nextBoolean()
                    ? data(r, HubOutputReader.TEXT, write(heartbeat(me)))
                    : control(r, HubOutputReader.PING, new byte[100]));
          }
          s.add(new Send("burst of " + frames.size(), concat(frames.toArray(new byte[0][]))));
          break;
        }
      case 12:
        {
          // A message in many frames, mostly empty continuations: around max_fragments_per_message.
          int frames = r.nextInt(MAX_FRAGMENTS - 4, 3 * MAX_FRAGMENTS);
          List<byte[]> parts = new ArrayList<>();
          byte[] hb = write(heartbeat(me));
          parts.add(clientFrame(HubOutputReader.TEXT, false, 0, true, r.nextInt(), hb));
          for (int i = 1; i < frames - 1; i++) {
            parts.add(
                clientFrame(
                    HubOutputReader.CONTINUATION, false, 0, true, r.nextInt(), new byte[0]));
          }
          parts.add(
              clientFrame(HubOutputReader.CONTINUATION, true, 0, true, r.nextInt(), new byte[0]));
          s.add(new Send(frames + " fragments", concat(parts.toArray(new byte[0][]))));
          break;
        }
      default:
        s.add(new Drop());
        break;
    }
  }

  /**
   * Frames as sends: usually one each; 1 in 8 all in one write; 1 in 10 a frame cut across two
   * writes, sometimes with time passing in between.
   */
  private static void sendFrames(
      SplittableRandom r, String what, List<byte[]> frames, List<Step> s) {
    if (frames.size() > 1 && r.nextInt(8) == 0) {
      s.add(
          new Send(
              what + " (" + frames.size() + " frames)", concat(frames.toArray(new byte[0][]))));
      return;
    }
    for (int i = 0; i < frames.size(); i++) {
      String name = frames.size() == 1 ? what : what + " " + (i + 1) + "/" + frames.size();
      byte[] f = frames.get(i);
      if (f.length > 1 && r.nextInt(10) == 0) {
        int cut = r.nextInt(1, f.length);
        s.add(new Send(name + " (part 1)", Arrays.copyOf(f, cut)));
        if (r.nextBoolean()) {
          s.add(new Wait(r.nextLong(1, 3000)));
        }
        s.add(new Send(name + " (part 2)", Arrays.copyOfRange(f, cut, f.length)));
      } else {
        s.add(new Send(name, f));
      }
    }
  }

  /** A masked, final data frame. */
  private static byte[] data(SplittableRandom r, int opcode, byte[] payload) {
    return clientFrame(opcode, true, 0, true, r.nextInt(), payload);
  }

  /** A masked control frame. */
  private static byte[] control(SplittableRandom r, int opcode, byte[] payload) {
    return clientFrame(opcode, true, 0, true, r.nextInt(), payload);
  }

  /**
   * A message in 2 to 4 fragments, sometimes with pings in between (allowed), or with {@code
   * interrupt} a new data frame in the middle (a protocol error).
   */
  private static List<byte[]> fragments(SplittableRandom r, byte[] message, boolean interrupt) {
    int parts = r.nextInt(2, 5);
    List<byte[]> frames = new ArrayList<>();
    int from = 0;
    for (int i = 0; i < parts; i++) {
      int to = i == parts - 1 ? message.length : r.nextInt(from, message.length + 1);
      int opcode = i == 0 ? HubOutputReader.TEXT : HubOutputReader.CONTINUATION;
      frames.add(
          clientFrame(
              opcode, i == parts - 1, 0, true, r.nextInt(), Arrays.copyOfRange(message, from, to)));
      from = to;
      if (i < parts - 1 && r.nextInt(4) == 0) {
        frames.add(control(r, HubOutputReader.PING, randomBytes(r, 8)));
      }
      if (interrupt && i == 0) {
        frames.add(data(r, HubOutputReader.TEXT, write(heartbeat("dev-2"))));
      }
    }
    return frames;
  }

  private static final int[] GOOD_CLOSE_CODES = {
    -1, 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999
  };

  private static byte[] closeBody(SplittableRandom r) {
    int code = GOOD_CLOSE_CODES[r.nextInt(GOOD_CLOSE_CODES.length)];
    if (code < 0) {
      return new byte[0];
    }
    byte[] reason = utf8(oneOf(r, "", "bye", "done: \u00e9\u20ac", "x".repeat(100)));
    return concat(new byte[] {(byte) (code >> 8), (byte) code}, reason);
  }

  /** One way to break RFC 6455, as one or more sends. */
  private static void violation(SplittableRandom r, List<Step> s) {
    byte[] hb = write(heartbeat("dev-2"));
    switch (r.nextInt(14)) {
      case 0:
        s.add(new Send("unmasked", clientFrame(HubOutputReader.TEXT, true, 0, false, 0, hb)));
        break;
      case 1:
        s.add(
            new Send(
                "rsv bits",
                clientFrame(HubOutputReader.TEXT, true, 1 << r.nextInt(3), true, r.nextInt(), hb)));
        break;
      case 2:
        {
          int opcode = oneOf(r, 3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF);
          s.add(
              new Send(
                  "opcode " + opcode,
                  clientFrame(opcode, true, 0, true, r.nextInt(), randomBytes(r, 20))));
          break;
        }
      case 3:
        s.add(
            new Send(
                "lone continuation",
                clientFrame(HubOutputReader.CONTINUATION, true, 0, true, r.nextInt(), hb)));
        break;
      case 4:
        s.add(
            new Send(
                "fragmented ping",
                clientFrame(HubOutputReader.PING, false, 0, true, r.nextInt(), new byte[3])));
        break;
      case 5:
        s.add(
            new Send("long ping", control(r, HubOutputReader.PING, new byte[r.nextInt(126, 300)])));
        break;
      case 6:
        s.add(new Send("1-byte close", control(r, HubOutputReader.CLOSE, new byte[] {3})));
        break;
      case 7:
        {
          int code = oneOf(r, 0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535);
          s.add(
              new Send(
                  "close " + code,
                  control(r, HubOutputReader.CLOSE, new byte[] {(byte) (code >> 8), (byte) code})));
          break;
        }
      case 8:
        s.add(
            new Send(
                "close, bad reason",
                control(r, HubOutputReader.CLOSE, new byte[] {3, (byte) 0xe8, (byte) 0xc3, 0x28})));
        break;
      case 9:
        s.add(
            new Send(
                "long length form",
                clientFrame(
                    HubOutputReader.TEXT,
                    true,
                    0,
                    true,
                    r.nextInt(),
                    hb,
                    r.nextBoolean() ? 126 : 127)));
        break;
      case 10:
        {
          // A header announcing more than the limit, and a few bytes of it.
          long length =
              r.nextBoolean() ? MAX_FRAME + r.nextInt(1, 70_000) : 1L << r.nextInt(31, 64);
          byte[] head =
              frameHead(
                  HubOutputReader.TEXT,
                  true,
                  0,
                  true,
                  length,
                  length > 0xffff || length < 0 ? 127 : 126);
          s.add(
              new Send(
                  "announces " + Long.toUnsignedString(length) + " bytes",
                  concat(head, randomBytes(r, 30))));
          break;
        }
      case 11:
        sendFrames(r, "interrupted fragments", fragments(r, hb, true), s);
        break;
      case 12:
        {
          // Fragments each under the limit, together over it: the aggregator's limit.
          byte[] big = new byte[MAX_FRAME + r.nextInt(1, 2000)];
          Arrays.fill(big, (byte) 'a');
          sendFrames(r, "fragments over the limit", fragments(r, big, false), s);
          break;
        }
      default:
        {
          byte[] bad =
              concat(
                  utf8("{\"type\":\"heartbeat\",\"status\":\"ok\",\"x\":\""),
                  invalidUtf8(r),
                  utf8("\"}"));
          s.add(new Send("invalid UTF-8", data(r, HubOutputReader.TEXT, bad)));
          break;
        }
    }
  }

  // ------------------------------------------------------------------------------ AIP content

  private static Map<String, Object> registration(SplittableRandom r) {
    switch (weighted(r, 5, 2, 5, 1, 2)) {
      case 0:
        return registerMap("device", oneOf(r, "dev-2", "dev-3"), null);
      case 1:
        return registerMap("device", PEER, null); // contested: the peer holds it
      case 2:
        return registerMap("constellation", "galaxy-1", oneOf(r, PEER, PEER, null));
      case 3:
        return registerMap("constellation", "galaxy-2", oneOf(r, "dev-9", ""));
      default:
        {
          Map<String, Object> m = ConnectionStateMachinePropertyTest.aipShaped(r);
          m.put("type", "register");
          return m;
        }
    }
  }

  private static Map<String, Object> registerMap(String clientType, String id, String target) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "register");
    m.put("status", "ok");
    m.put("client_type", clientType);
    m.put("client_id", id);
    if (target != null) {
      m.put("target_id", target);
    }
    if (clientType.equals("device")) {
      m.put("metadata", Map.of("platform", "linux", "system_info", Map.of("device_id", id)));
    }
    return m;
  }

  static byte[] register(String id) {
    return write(registerMap("device", id, null));
  }

  private static Map<String, Object> heartbeat(String id) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "heartbeat");
    m.put("status", "ok");
    m.put("client_id", id);
    return m;
  }

  static byte[] taskEnd(String sessionId) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "task_end");
    m.put("status", "completed");
    m.put("client_type", "device");
    m.put("client_id", PEER);
    m.put("session_id", sessionId);
    m.put("result", Map.of("ok", true));
    return write(m);
  }

  /** An AIP message as {@code me} would send it after registering, or a wrong one. */
  private static Map<String, Object> aipMessage(SplittableRandom r, String me) {
    Map<String, Object> m = new LinkedHashMap<>();
    String session = oneOf(r, "s1", "s2", "s3", null, "bad id\n");
    switch (weighted(r, 4, 4, 3, 1, 2, 1, 1, 1, 3)) {
      case 0:
        m.put("type", "heartbeat");
        m.put("status", "ok");
        m.put("client_type", oneOf(r, "device", "constellation", null));
        m.put("client_id", oneOf(r, me, me, "other", null));
        return m;
      case 1:
        m.put("type", "task");
        m.put("status", "continue");
        m.put("client_type", "constellation");
        m.put("client_id", oneOf(r, me, me, null));
        m.put("target_id", oneOf(r, PEER, PEER, "dev-9", ""));
        m.put("request", oneOf(r, "open excel", "", string(r, 40)));
        m.put("task_name", "t1");
        m.put("session_id", session);
        return m;
      case 2:
        m.put("type", "task_end");
        m.put("status", oneOf(r, "completed", "failed", "ok", "continue"));
        m.put("client_id", oneOf(r, me, null));
        m.put("session_id", session);
        m.put("result", ConnectionStateMachinePropertyTest.json(r, 3));
        return m;
      case 3:
        m.put("type", "error");
        m.put("status", "error");
        m.put("error", "it broke");
        m.put("session_id", session);
        return m;
      case 4:
        m.put("type", "device_info_request");
        m.put("status", "ok");
        m.put("client_type", "constellation");
        m.put("target_id", oneOf(r, PEER, "dev-2", null));
        m.put("request_id", "r1");
        return m;
      case 5:
        m.put("type", "device_info_response");
        m.put("status", "ok");
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("system_info", ConnectionStateMachinePropertyTest.json(r, 3)); // maybe null
        m.put("metadata", metadata);
        return m;
      case 6:
        return registerMap("device", oneOf(r, me, "dev-3"), null);
      case 7:
        m.put("type", oneOf(r, "command_results", "nonsense"));
        m.put("status", "ok");
        return m;
      default:
        return ConnectionStateMachinePropertyTest.aipShaped(r);
    }
  }

  /** An AIP message with JSON nested around the depth limit, or a string of up to 3000 chars. */
  private static byte[] deepOrBig(SplittableRandom r, String me) {
    Map<String, Object> m = aipMessage(r, me);
    String field = oneOf(r, "result", "request", "metadata", "error");
    m.put(field, "__RAW__");
    String raw;
    if (r.nextBoolean()) {
      int depth = r.nextInt(MAX_DEPTH - 4, MAX_DEPTH + 40);
      StringBuilder open = new StringBuilder();
      StringBuilder close = new StringBuilder();
      for (int i = 0; i < depth; i++) {
        if (r.nextBoolean()) {
          open.append('[');
          close.insert(0, ']');
        } else {
          open.append("{\"k\":");
          close.insert(0, '}');
        }
      }
      raw = open + "1" + close;
    } else {
      raw = quote(bigString(r, r.nextInt(100, 3000)));
    }
    return utf8(new String(write(m), StandardCharsets.UTF_8).replace("\"__RAW__\"", raw));
  }

  private static String bigString(SplittableRandom r, int chars) {
    String[] pieces = {
      "a", "Z", "7", " ", "\u00e9", "\u20ac", "\u4e2d", "\ud83d\ude00", "\n", "\"", "\\"
    };
    StringBuilder b = new StringBuilder();
    while (b.length() < chars) {
      b.append(pieces[r.nextInt(pieces.length)]);
    }
    return b.toString();
  }

  private static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  // ----------------------------------------------------------------------------- byte helpers

  private static final byte[][] INVALID_UTF8 = {
    {(byte) 0xc3, 0x28},
    {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
    {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
    {(byte) 0x80},
    {(byte) 0xc0, (byte) 0xaf},
    {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
    {(byte) 0xe2, (byte) 0x82},
  };

  private static byte[] invalidUtf8(SplittableRandom r) {
    return INVALID_UTF8[r.nextInt(INVALID_UTF8.length)].clone();
  }

  /** One to three random edits: a byte changed, a range cut or doubled, bytes or bad UTF-8 in. */
  static byte[] mutate(SplittableRandom r, byte[] in) {
    byte[] b = in;
    for (int n = r.nextInt(1, 4); n > 0; n--) {
      int at = r.nextInt(b.length + 1);
      int to = r.nextInt(at, b.length + 1);
      switch (r.nextInt(6)) {
        case 0:
          if (b.length > 0) {
            b = b.clone();
            b[Math.min(at, b.length - 1)] = (byte) r.nextInt(256);
          }
          break;
        case 1:
          b = concat(Arrays.copyOf(b, at), Arrays.copyOfRange(b, to, b.length));
          break;
        case 2:
          b = concat(Arrays.copyOf(b, at), randomBytes(r, 8), Arrays.copyOfRange(b, at, b.length));
          break;
        case 3:
          b = Arrays.copyOf(b, at);
          break;
        case 4:
          b = concat(Arrays.copyOf(b, at), invalidUtf8(r), Arrays.copyOfRange(b, at, b.length));
          break;
        default:
          b = concat(Arrays.copyOf(b, to), Arrays.copyOfRange(b, at, b.length));
          break;
      }
    }
    return b;
  }

  /** A client frame with the minimal length form. */
  static byte[] clientFrame(
      int opcode, boolean fin, int rsv, boolean masked, int maskKey, byte[] payload) {
    int form = payload.length < 126 ? 0 : payload.length <= 0xffff ? 126 : 127;
    return clientFrame(opcode, fin, rsv, masked, maskKey, payload, form);
  }

  /**
   * A client frame; {@code lengthForm} 0 puts the length in 7 bits, 126 in 16 and 127 in 64
   * (possibly not the minimal form, which RFC 6455 requires).
   */
  static byte[] clientFrame(
      int opcode,
      boolean fin,
      int rsv,
      boolean masked,
      int maskKey,
      byte[] payload,
      int lengthForm) {
    byte[] head = frameHead(opcode, fin, rsv, masked, payload.length, lengthForm);
    byte[] mask = {
      (byte) (maskKey >> 24), (byte) (maskKey >> 16), (byte) (maskKey >> 8), (byte) maskKey
    };
    byte[] body = payload.clone();
    if (masked) {
      for (int i = 0; i < body.length; i++) {
        body[i] ^= mask[i & 3];
      }
      return concat(head, mask, body);
    }
    return concat(head, body);
  }

  /** The first bytes of a frame, without the mask key. */
  private static byte[] frameHead(
      int opcode, boolean fin, int rsv, boolean masked, long length, int lengthForm) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0x0f));
    int maskBit = masked ? 0x80 : 0;
    if (lengthForm == 0) {
      out.write(maskBit | (int) length);
    } else if (lengthForm == 126) {
      out.write(maskBit | 126);
      out.write((int) (length >> 8) & 0xff);
      out.write((int) length & 0xff);
    } else {
      out.write(maskBit | 127);
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.write((int) (length >>> shift) & 0xff);
      }
    }
    return out.toByteArray();
  }

  private static byte[] randomBytes(SplittableRandom r, int max) {
    byte[] b = new byte[r.nextInt(max + 1)];
    r.nextBytes(b);
    return b;
  }

  private static String string(SplittableRandom r, int max) {
    StringBuilder b = new StringBuilder();
    for (int n = r.nextInt(max + 1); n > 0; n--) {
      b.append((char) (r.nextBoolean() ? r.nextInt(0x20, 0x7f) : r.nextInt(0xd800)));
    }
    return b.toString();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] write(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }
}
