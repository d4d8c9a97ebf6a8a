package org.aiphub.server.netty;

import static org.aiphub.core.testing.Fuzz.oneOf;
import static org.aiphub.core.testing.Fuzz.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Function;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.testing.Fuzz;
import org.aiphub.server.testing.HubInternals;
import org.junit.jupiter.api.Test;

/**
 * Property test of one connection's state machine, run by the seeded harness {@link Fuzz}: an
 * {@link EmbeddedChannel} with the hub's liveness handler, {@link AipFrameCodec} and {@link
 * ConnectionHandler} over a real {@code TaskRouter}, next to a registered peer device that answers
 * pings, is fed arbitrary sequences of text and binary frames (random bytes, invalid UTF-8, any
 * JSON, AIP-shaped messages with wrong types and unknown values, registrations), pongs and close
 * frames, before and after registration. After every frame:
 *
 * <ul>
 *   <li>no exception escaped the pipeline, and nothing passed beyond the connection handler;
 *   <li>no half state: the channel is open in AWAITING_REGISTER or REGISTERED, or a close frame
 *       went out and the channel is closed (CLOSED, its cleanup done);
 *   <li>the frame got at least one reply that decodes as an AIP server message, or led to a close,
 *       or is one of the few frames AIP answers with nothing (pongs; {@code error} reports and
 *       {@code device_info_response} updates from a registered client);
 *   <li>the registry is consistent and holds this connection exactly while it is REGISTERED.
 * </ul>
 */
class ConnectionStateMachinePropertyTest {
  private static final AipCodec CODEC = new AipCodec();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration PROBE = Duration.ofSeconds(2);
  private static final String PEER = "dev-1";

  /** What a test frame carries. */
  enum Kind {
    TEXT,
    BINARY,
    CLOSE,
    PONG
  }

  /** One input frame, kept as plain data so a failure report can print it. */
  record Input(Kind kind, byte[] payload, int closeCode) {
    WebSocketFrame frame() {
      switch (kind) {
        case TEXT:
          return new TextWebSocketFrame(Unpooled.wrappedBuffer(payload));
        case BINARY:
          return new BinaryWebSocketFrame(Unpooled.wrappedBuffer(payload));
        case CLOSE:
          return closeCode < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(closeCode, "");
        default:
          return new PongWebSocketFrame(Unpooled.wrappedBuffer(payload));
      }
    }

    /** The message this frame decodes to, or null. */
    ClientMessage decoded() {
      if (kind != Kind.TEXT && kind != Kind.BINARY) {
        return null;
      }
      try {
        return CODEC.decodeClient(payload);
      } catch (AipDecodeException e) {
        return null;
      }
    }

    @Override
    public String toString() {
      String body = new String(payload, StandardCharsets.UTF_8);
      return kind
          + (kind == Kind.CLOSE ? "(" + closeCode + ")" : "")
          + "["
          + (body.length() > 200 ? body.substring(0, 200) + "..." : body)
          + "]";
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Input
          && ((Input) o).kind == kind
          && ((Input) o).closeCode == closeCode
          && Arrays.equals(((Input) o).payload, payload);
    }

    @Override
    public int hashCode() {
      return kind.hashCode() * 31 + Arrays.hashCode(payload) + closeCode;
    }
  }

  /** The fuzzed connection, a live peer device and the router they share. */
  private static final class World {
    final RouterFixture hub = new RouterFixture();
    final EmbeddedChannel peer;
    final ConnectionHandler handler =
        new ConnectionHandler(hub.router, Duration.ofSeconds(10), 20, ConnectionEvents.NONE, PROBE);
    final EmbeddedChannel conn;
    boolean closeFrameOut;

    World() {
      peer =
          channel(
              new ConnectionHandler(
                  hub.router, Duration.ofSeconds(10), 20, ConnectionEvents.NONE, PROBE));
      peer.writeInbound(new TextWebSocketFrame(Unpooled.wrappedBuffer(register("device", PEER))));
      Object reply = peer.readOutbound();
      assertThat(reply).as("peer registered").isInstanceOf(TextWebSocketFrame.class);
      ReferenceCountUtil.release(reply);
      conn = channel(handler);
      conn.pipeline()
          .fireUserEventTriggered(
              new WebSocketServerProtocolHandler.HandshakeComplete(
                  "/ws?token=k", new DefaultHttpHeaders(), null));
    }

    private EmbeddedChannel channel(ConnectionHandler h) {
      EmbeddedChannel ch =
          new EmbeddedChannel(
              new LivenessHandler(Duration.ofSeconds(10), ConnectionEvents.NONE),
              new AipFrameCodec(CODEC),
              h);
      ch.freezeTime();
      return ch;
    }

    /** Lets a probe of the peer finish: the peer answers every ping, like a live client. */
    void settle() {
      for (int round = 0; round < 3; round++) {
        peer.runPendingTasks();
        for (Object o; (o = peer.readOutbound()) != null; ) {
          if (o instanceof PingWebSocketFrame) {
            peer.writeInbound(new PongWebSocketFrame());
          }
          ReferenceCountUtil.release(o);
        }
        conn.runPendingTasks();
      }
    }

    /** Feeds one frame, checks the invariants, and says how it was answered. */
    String feed(Input in) {
      ConnectionHandler.State before = handler.state();
      conn.writeInbound(in.frame()); // rethrows anything that reached the pipeline's tail
      settle();
      assertThat(conn.inboundMessages()).as("nothing passes the connection handler").isEmpty();

      int replies = 0;
      boolean closed = false;
      for (Object o; (o = conn.readOutbound()) != null; ) {
        try {
          if (o instanceof TextWebSocketFrame) {
            byte[] bytes = ByteBufUtil.getBytes(((TextWebSocketFrame) o).content());
            try {
              CODEC.decodeServer(bytes);
            } catch (AipDecodeException e) {
              fail("invalid reply " + new String(bytes, StandardCharsets.UTF_8), e);
            }
            assertThat(closeFrameOut).as("a reply after the close frame").isFalse();
            replies++;
          } else if (o instanceof CloseWebSocketFrame) {
            assertThat(closeFrameOut).as("a second close frame").isFalse();
            closeFrameOut = true;
            closed = true;
          } else {
            fail("unexpected outbound " + o);
          }
        } finally {
          ReferenceCountUtil.release(o);
        }
      }

      // No half state.
      if (conn.isOpen()) {
        assertThat(handler.state())
            .isIn(ConnectionHandler.State.AWAITING_REGISTER, ConnectionHandler.State.REGISTERED);
        assertThat(closeFrameOut).as("open after its close frame").isFalse();
      } else {
        assertThat(closeFrameOut).as("closed without a close frame").isTrue();
        assertThat(handler.state()).isEqualTo(ConnectionHandler.State.CLOSED);
      }

      // Every frame answered, or closed on, or silent by AIP's design.
      boolean silent = replies == 0 && !closed;
      if (silent) {
        assertThat(silentByDesign(in, before)).as("no reply and no close for %s", in).isTrue();
      }

      // The registry holds this connection exactly while it is registered.
      ClientConnection mine = handler.connection();
      if (handler.state() == ConnectionHandler.State.REGISTERED) {
        assertThat(hub.registry.getClient(handler.identity().clientId())).containsSame(mine);
      } else {
        for (String id : hub.registry.listClients()) {
          assertThat(hub.registry.getClient(id)).as("entry %s", id).isNotEqualTo(Optional.of(mine));
        }
      }
      assertThat(hub.registry.getClient(PEER)).as("the peer keeps its place").isPresent();
      assertThat(HubInternals.consistencyProblems(hub.registry)).isEmpty();
      return closed ? "closed" : silent ? "silent" : "answered";
    }

    void release() {
      conn.finishAndReleaseAll();
      peer.finishAndReleaseAll();
    }
  }

  private static boolean silentByDesign(Input in, ConnectionHandler.State before) {
    if (in.kind() == Kind.PONG) {
      return true;
    }
    ClientMessage m = in.decoded();
    return before == ConnectionHandler.State.REGISTERED
        && m != null
        && (m.type() == ClientMessageType.ERROR
            || m.type() == ClientMessageType.DEVICE_INFO_RESPONSE);
  }

  @Test
  void noFrameSequenceBreaksTheConnectionStateMachine() {
    Fuzz.forAll(
            1000,
            t -> {
              List<Input> inputs = t.draw("inputs", ConnectionStateMachinePropertyTest::sequence);
              Set<String> seen = new TreeSet<>();
              World w = new World();
              try {
                for (int i = 0; i < inputs.size() && w.conn.isOpen(); i++) {
                  Input in = inputs.get(i);
                  ConnectionHandler.State before = w.handler.state();
                  try {
                    seen.add(w.feed(in) + " " + before);
                  } catch (AssertionError | RuntimeException e) {
                    // Name the input: the sequence in the report may be truncated.
                    throw new AssertionError(
                        "at input " + i + " (" + in + "), state before " + before + ": " + e, e);
                  }
                  seen.add("reached " + w.handler.state());
                }
              } finally {
                w.release();
              }
              seen.forEach(t::label);
            })
        // The sequences must reach every state and every kind of answer, or the invariants are
        // checked only on the easy paths.
        .expectShare("reached REGISTERED", 0.17)
        .expectShare("reached CLOSED", 0.2)
        .expectShare("answered AWAITING_REGISTER", 0.17)
        .expectShare("answered REGISTERED", 0.15)
        .expectShare("closed AWAITING_REGISTER", 0.16)
        .expectShare("closed REGISTERED", 0.035)
        .expectShare("silent REGISTERED", 0.035);
  }

  // ------------------------------------------------------------------------------ generators

  /** 1 to 12 inputs, or (2 in 3) a registration followed by up to 12 inputs. */
  static List<Input> sequence(SplittableRandom r) {
    List<Input> all = new ArrayList<>();
    int n;
    if (r.nextInt(3) == 0) {
      n = r.nextInt(1, 13);
    } else {
      all.add(registration(r));
      n = r.nextInt(13);
    }
    for (int i = 0; i < n; i++) {
      all.add(input(r));
    }
    return all;
  }

  private static final int[] CLOSE_CODES = {-1, 1000, 1001, 1002, 1008, 3000, 4999};

  static Input input(SplittableRandom r) {
    switch (weighted(r, 2, 1, 2, 8, 2, 2, 1, 1)) {
      case 0:
        return new Input(Kind.TEXT, randomBytes(r, 48), 0);
      case 1:
        return new Input(Kind.BINARY, randomBytes(r, 48), 0);
      case 2:
        return new Input(Kind.TEXT, write(json(r, 3)), 0);
      case 3:
        return new Input(Kind.TEXT, write(aipShaped(r)), 0);
      case 4:
        return new Input(Kind.BINARY, write(aipShaped(r)), 0);
      case 5:
        return registration(r);
      case 6:
        return new Input(Kind.PONG, new byte[0], 0);
      default:
        return new Input(Kind.CLOSE, new byte[0], CLOSE_CODES[r.nextInt(CLOSE_CODES.length)]);
    }
  }

  /** A well-formed register frame, for either kind of client. */
  static Input registration(SplittableRandom r) {
    String type = oneOf(r, "device", "constellation");
    String id = oneOf(r, "dev-2", "galaxy-1", PEER, "dev-3");
    return new Input(Kind.TEXT, register(type, id), 0);
  }

  static byte[] register(String clientType, String id) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "register");
    m.put("status", "ok");
    m.put("client_type", clientType);
    m.put("client_id", id);
    if (clientType.equals("device")) {
      m.put("metadata", Map.of("platform", "linux", "system_info", Map.of("device_id", id)));
    }
    return write(m);
  }

  /** Field names of an AIP client frame, each with plausible, wrong-typed or unknown values. */
  private static final Map<String, Function<SplittableRandom, Object>> AIP_FIELDS =
      new LinkedHashMap<>();

  static {
    AIP_FIELDS.put(
        "type",
        r ->
            orNull(
                r,
                "register",
                "heartbeat",
                "task",
                "task_end",
                "error",
                "command_results",
                "device_info_request",
                "device_info_response",
                "nonsense",
                7));
    AIP_FIELDS.put(
        "status", r -> orNull(r, "ok", "continue", "completed", "failed", "error", "bogus", true));
    AIP_FIELDS.put("client_type", r -> orNull(r, "device", "constellation", "robot", 1));
    AIP_FIELDS.put(
        "client_id", r -> orNull(r, "dev-1", "dev-2", "galaxy-1", "", "bad\nid", "x".repeat(300)));
    AIP_FIELDS.put("session_id", r -> orNull(r, "s1", "s2", "../x", "", 5));
    AIP_FIELDS.put("target_id", r -> orNull(r, "dev-1", "dev-2", "galaxy-1", ""));
    AIP_FIELDS.put("request", r -> orNull(r, "do it", "", List.of("x")));
    AIP_FIELDS.put(
        "metadata",
        r ->
            orNull(
                r,
                Map.of("platform", "linux", "system_info", Map.of("os", "linux")),
                Map.of("system_info", "not an object"),
                Map.of("platform", 5),
                "not an object"));
    AIP_FIELDS.put("result", r -> json(r, 2));
    AIP_FIELDS.put("error", r -> orNull(r, "something broke", "", Map.of("e", 1)));
    AIP_FIELDS.put("request_id", r -> orNull(r, "req-1", 42));
    AIP_FIELDS.put(
        "action_results",
        r ->
            orNull(
                r, List.of(Map.of("status", "success")), List.of(Map.of("status", "weird")), "x"));
  }

  /** An AIP-shaped object: type and status nearly always (3 in 4), other fields at random. */
  static Map<String, Object> aipShaped(SplittableRandom r) {
    int present = r.nextInt(1 << AIP_FIELDS.size());
    Map<String, Object> m = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, Function<SplittableRandom, Object>> f : AIP_FIELDS.entrySet()) {
      Object value = f.getValue().apply(r); // drawn either way, so each field's draws stay apart
      if (i < 2 ? (present & 3) != 0 : (present & (1 << i)) != 0) {
        m.put(f.getKey(), value);
      }
      i++;
    }
    return m;
  }

  /** Any JSON value nested at most {@code depth} levels (scalars 3 in 5 at every level). */
  static Object json(SplittableRandom r, int depth) {
    switch (depth == 0 ? 0 : weighted(r, 3, 1, 1)) {
      case 0:
        return scalar(r);
      case 1:
        {
          List<Object> list = new ArrayList<>();
          for (int n = r.nextInt(4); n > 0; n--) {
            list.add(json(r, depth - 1));
          }
          return list;
        }
      default:
        {
          Map<String, Object> map = new LinkedHashMap<>();
          for (int n = r.nextInt(4); n > 0; n--) {
            map.put(string(r, 8), json(r, depth - 1));
          }
          return map;
        }
    }
  }

  /** A string, int, long, finite double or boolean, or null 1 in 10. */
  private static Object scalar(SplittableRandom r) {
    if (r.nextInt(10) == 0) {
      return null;
    }
    switch (weighted(r, 3, 2, 1, 1, 1)) {
      case 0:
        return string(r, 12);
      case 1:
        return r.nextInt();
      case 2:
        return r.nextLong();
      case 3:
        return r.nextLong(-1_000_000, 1_000_000) / 64.0;
      default:
        return r.nextBoolean();
    }
  }

  /** Up to {@code max} characters below the surrogates, control characters included. */
  private static String string(SplittableRandom r, int max) {
    StringBuilder b = new StringBuilder();
    for (int n = r.nextInt(max + 1); n > 0; n--) {
      b.append((char) (r.nextBoolean() ? r.nextInt(0x20, 0x7f) : r.nextInt(0xd800)));
    }
    return b.toString();
  }

  private static byte[] randomBytes(SplittableRandom r, int max) {
    byte[] b = new byte[r.nextInt(max + 1)];
    r.nextBytes(b);
    return b;
  }

  /** One of {@code choices}, or (15%) an explicit JSON null. */
  private static Object orNull(SplittableRandom r, Object... choices) {
    return r.nextInt(100) < 15 ? null : choices[r.nextInt(choices.length)];
  }

  private static byte[] write(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }
}
