package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicateClientException;
import org.aiphub.core.session.SessionTable;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.server.dashboard.DashboardState;
import org.aiphub.server.route.Identity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The feed over {@link EmbeddedChannel}s: viewers are embedded channels, and the feed's timers run
 * on an embedded event loop whose clock the test moves, so every interleaving is deterministic.
 */
class EventStreamTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Identity DEVICE = new Identity("d1", ClientType.DEVICE, null);

  private final List<EmbeddedChannel> channels = new ArrayList<>();
  private final RecordingConnectionEvents events = new RecordingConnectionEvents();
  private ClientRegistry registry;
  private DashboardState state;
  private EmbeddedChannel timers;
  private EventStream stream;
  private boolean ticked;

  @BeforeEach
  void setUp() throws DuplicateClientException {
    Clock clock = Clock.systemUTC();
    registry = ClientRegistry.builder().clock(clock).build();
    state =
        new DashboardState(
            registry, new SessionTable(100, Duration.ofHours(1), clock), clock, null);
    timers = new EmbeddedChannel();
    timers.freezeTime();
    stream = new EventStream(state, timers.eventLoop(), ByteBufAllocator.DEFAULT, events);
    registry.addClient("d1", "linux", new FakeConnection("d1"), ClientType.DEVICE, Map.of());
  }

  @AfterEach
  void tearDown() {
    stream.close();
    for (EmbeddedChannel ch : channels) {
      ch.finishAndReleaseAll();
    }
    timers.finishAndReleaseAll();
  }

  @Test
  void aViewerGetsASnapshotThenTheDeltasOfLaterChanges() throws IOException {
    EmbeddedChannel viewer = viewer();
    stream.subscribe(viewer.pipeline().firstContext());
    assertThat(viewer.<Object>readOutbound()).isInstanceOf(HttpResponse.class);
    assertThat(types(events(viewer))).containsExactly("snapshot");

    state.heartbeat(DEVICE);
    tick();
    assertThat(deltaIds(events(viewer))).containsExactly("d1");
  }

  /**
   * A page reload: the new feed subscribes while the old one closes, and the old one's close lands
   * in the middle of the new subscription (here: while its snapshot is written). The newcomer must
   * still be watched, and get the deltas.
   */
  @Test
  void aViewerJoiningWhileAnotherLeavesStillGetsDeltas() throws IOException {
    EmbeddedChannel leaving = viewer();
    stream.subscribe(leaving.pipeline().firstContext());
    EmbeddedChannel joining = viewer();
    joining
        .pipeline()
        .addFirst(
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof HttpContent) {
                  leaving.close();
                }
                ctx.write(msg, promise);
              }
            });
    stream.subscribe(joining.pipeline().firstContext());
    assertThat(leaving.isOpen()).isFalse();
    assertThat(stream.viewers()).isEqualTo(1);
    joining.releaseOutbound();

    state.heartbeat(DEVICE);
    tick();
    assertThat(deltaIds(events(joining)))
        .as("deltas for the remaining viewer")
        .containsExactly("d1");
  }

  /**
   * A change right after the snapshot was taken, whose delta goes out before the subscription
   * finished: the newcomer must be among the viewers it goes to, or it never learns of the change.
   */
  @Test
  void aChangeWhileTheSnapshotIsSentReachesTheNewViewer() throws IOException {
    EmbeddedChannel viewer = viewer();
    viewer
        .pipeline()
        .addFirst(
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ctx.write(msg, promise);
                if (msg instanceof HttpContent && !ticked) {
                  ticked = true;
                  state.heartbeat(DEVICE);
                  tick();
                }
              }
            });
    stream.subscribe(viewer.pipeline().firstContext());
    assertThat(viewer.<Object>readOutbound()).isInstanceOf(HttpResponse.class);
    List<JsonNode> events = events(viewer);
    assertThat(types(events)).startsWith("snapshot");
    assertThat(events.get(0).at("/devices/0/last_heartbeat").isNull()).isTrue();
    assertThat(deltaIds(events)).containsExactly("d1");
  }

  @Test
  void trackingStopsWithTheLastViewerOnly() throws IOException {
    EmbeddedChannel a = viewer();
    EmbeddedChannel b = viewer();
    stream.subscribe(a.pipeline().firstContext());
    stream.subscribe(b.pipeline().firstContext());
    a.close();
    b.releaseOutbound();
    state.heartbeat(DEVICE);
    tick();
    assertThat(deltaIds(events(b))).containsExactly("d1");

    b.close();
    state.heartbeat(DEVICE);
    assertThat(state.delta()).as("nothing tracked while nobody watches").isNull();
  }

  /**
   * A viewer that has not taken what it was sent (unwritable) gets nothing more queued: the next
   * broadcast closes it, counted as a slow consumer; the others go on.
   */
  @Test
  void aViewerThatDoesNotReadIsClosedAtTheNextBroadcastNotQueuedFor() throws IOException {
    EmbeddedChannel stuck = viewer();
    EmbeddedChannel reading = viewer();
    stream.subscribe(stuck.pipeline().firstContext());
    stream.subscribe(reading.pipeline().firstContext());
    stuck.releaseOutbound();
    reading.releaseOutbound();
    stuck.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
    assertThat(stuck.isWritable()).isFalse();

    state.heartbeat(DEVICE);
    tick();
    assertThat(stuck.isOpen()).isFalse();
    assertThat(stuck.<Object>readOutbound()).as("nothing queued for it").isNull();
    assertThat(events.lines()).containsExactly("slowConsumerClosed");
    assertThat(deltaIds(events(reading))).containsExactly("d1");
    assertThat(stream.viewers()).isEqualTo(1);
  }

  // ------------------------------------------------------------------------------ helpers

  private EmbeddedChannel viewer() {
    // Each with its own id: embedded channels share one by default, and a group keys on it.
    EmbeddedChannel ch =
        new EmbeddedChannel(DefaultChannelId.newInstance(), new ChannelOutboundHandlerAdapter());
    channels.add(ch);
    return ch;
  }

  /** Moves the feed's clock past its next delta and runs its timers. */
  private void tick() {
    timers.advanceTimeBy(1, TimeUnit.SECONDS);
    timers.runScheduledPendingTasks();
  }

  /** The events a viewer was sent since the last call, as JSON; releases them. */
  private static List<JsonNode> events(EmbeddedChannel viewer) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (Object m = viewer.readOutbound(); m != null; m = viewer.readOutbound()) {
      try {
        if (m instanceof HttpContent) {
          String text = ((HttpContent) m).content().toString(StandardCharsets.UTF_8);
          if (text.startsWith("data: ")) {
            out.add(JSON.readTree(text.substring("data: ".length()).trim()));
          }
        }
      } finally {
        ReferenceCountUtil.release(m);
      }
    }
    return out;
  }

  private static List<String> types(List<JsonNode> events) {
    List<String> out = new ArrayList<>();
    events.forEach(e -> out.add(e.get("type").asText()));
    return out;
  }

  /** The client ids named by the delta events among {@code events}. */
  private static List<String> deltaIds(List<JsonNode> events) {
    List<String> out = new ArrayList<>();
    for (JsonNode e : events) {
      if ("delta".equals(e.get("type").asText())) {
        e.get("clients").forEach(c -> out.add(c.get("id").asText()));
      }
    }
    return out;
  }
}
