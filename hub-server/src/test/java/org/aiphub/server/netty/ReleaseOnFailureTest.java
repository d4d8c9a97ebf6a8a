package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicateClientException;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.DeviceConfigReloader;
import org.aiphub.server.dashboard.DashboardState;
import org.aiphub.server.http.ApiRoutes;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.security.ApiKey;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every buffer the hub allocates for an answer is released on every path, the failing ones above
 * all: an allocator that runs out of memory while a buffer grows (what a pooled allocator does when
 * direct memory is exhausted) or a value that does not encode. Before, the buffer was released only
 * on an {@code IOException}, so each failed answer kept its memory for good. The allocator here
 * keeps every buffer it hands out; Netty's leak detector runs at PARANOID meanwhile.
 */
class ReleaseOnFailureTest {
  private static final String KEY = "release-key-0123456789";
  private static ResourceLeakDetector.Level previousLevel;

  @BeforeAll
  static void paranoidLeakDetection() {
    previousLevel = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @AfterAll
  static void restoreLeakDetection() {
    ResourceLeakDetector.setLevel(previousLevel);
  }

  @Test
  void aJsonAnswerReleasesItsBufferWhenMemoryRunsOut() {
    FailingAllocator alloc = new FailingAllocator(1024);
    assertThatThrownBy(() -> HttpResponses.json(alloc, HttpResponseStatus.OK, bigObject()))
        .isInstanceOf(OutOfMemoryError.class);
    assertThat(alloc.handedOut()).isPositive();
    alloc.assertAllReleased();
  }

  @Test
  void aJsonAnswerReleasesItsBufferWhenTheValueDoesNotEncode() {
    FailingAllocator alloc = new FailingAllocator(1 << 20);
    assertThatThrownBy(
            () -> HttpResponses.json(alloc, HttpResponseStatus.OK, Map.of("x", new Object())))
        .isInstanceOf(IllegalArgumentException.class);
    alloc.assertAllReleased();
  }

  @Test
  void aJsonAnswerThatFitsIsHandedOverWhole() {
    FailingAllocator alloc = new FailingAllocator(1 << 20);
    FullHttpResponse r = HttpResponses.json(alloc, HttpResponseStatus.OK, bigObject());
    assertThat(r.content().toString(UTF_8)).startsWith("{\"items\":[\"item-0");
    r.release();
    alloc.assertAllReleased();
  }

  @Test
  void aFeedEventReleasesItsBufferWhenMemoryRunsOut() {
    FailingAllocator alloc = new FailingAllocator(1024);
    assertThatThrownBy(() -> EventStream.event(alloc, bigObject()))
        .isInstanceOf(OutOfMemoryError.class);
    alloc.assertAllReleased();
  }

  @Test
  void anAipFrameReleasesItsBufferWhenMemoryRunsOut() {
    FailingAllocator alloc = new FailingAllocator(1024);
    EmbeddedChannel ch = new EmbeddedChannel(new AipFrameCodec(new AipCodec()));
    ch.config().setAllocator(alloc);
    ServerMessage big =
        ServerMessage.builder(ServerMessageType.TASK_END, TaskStatus.COMPLETED)
            .result(bigObject())
            .build();
    assertThatThrownBy(() -> ch.writeOutbound(big)).isInstanceOf(EncoderException.class);
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  /**
   * An API answer that cannot be built for want of memory: the client gets a small 503 (on the
   * heap: it needs nothing from the exhausted allocator), the connection closes, and nothing is
   * held.
   */
  @Test
  void anApiAnswerWithoutMemoryIsA503AndHoldsNothing() throws DuplicateClientException {
    FailingAllocator alloc = new FailingAllocator(1024);
    Clock clock = Clock.systemUTC();
    ClientRegistry registry = ClientRegistry.builder().clock(clock).build();
    for (int i = 0; i < 100; i++) {
      String id = "device-with-a-long-name-" + i;
      registry.addClient(id, "linux", new Stub(id), ClientType.DEVICE, Map.of());
    }
    SessionTable sessions = new SessionTable(100, Duration.ofHours(1), clock);
    HttpApiHandler api =
        new HttpApiHandler(
            new ApiRoutes(
                registry,
                sessions,
                new TaskRouter(registry, sessions, clock, RouterEvents.NONE),
                () -> "",
                new DeviceConfigReloader(null, registry, () -> {}),
                clock),
            ApiKey.of(KEY),
            Runnable::run,
            (route, status) -> {});
    EmbeddedChannel ch = new EmbeddedChannel(api);
    ch.config().setAllocator(alloc);

    ch.writeInbound(get("/api/clients"));
    FullHttpResponse r = ch.readOutbound();
    try {
      assertThat(r.status()).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
      assertThat(r.content().toString(UTF_8))
          .isEqualTo("{\"error\":\"" + HttpApiHandler.OUT_OF_MEMORY + "\"}");
      assertThat(r.headers().get("connection")).isEqualTo("close");
    } finally {
      r.release();
    }
    assertThat(ch.isOpen()).as("closed after the 503").isFalse();
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  /**
   * The feed: a snapshot without memory is a 503 and no viewer; a broadcast without memory closes
   * the viewers (each would miss a change) and the timers keep running for the next ones.
   */
  @Test
  void theFeedWithoutMemoryRefusesOrDropsViewersAndKeepsRunning() throws DuplicateClientException {
    FailingAllocator alloc = new FailingAllocator(4096);
    Clock clock = Clock.systemUTC();
    ClientRegistry registry = ClientRegistry.builder().clock(clock).build();
    DashboardState state =
        new DashboardState(
            registry, new SessionTable(100, Duration.ofHours(1), clock), clock, null);
    EmbeddedChannel timers = new EmbeddedChannel();
    timers.freezeTime();
    EventStream stream = new EventStream(state, timers.eventLoop(), alloc, ConnectionEvents.NONE);
    List<EmbeddedChannel> channels = new ArrayList<>();
    try {
      EmbeddedChannel small = viewer(channels, alloc);
      stream.subscribe(small.pipeline().firstContext());
      assertThat(stream.viewers()).isEqualTo(1);
      assertThat(small.<Object>readOutbound()).isInstanceOf(HttpResponse.class);
      releaseAll(small);

      // Enough devices that neither the snapshot nor a delta naming them fits.
      List<Stub> many = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        String id = "device-with-a-long-name-" + i;
        many.add(new Stub(id));
        registry.addClient(id, "linux", many.get(i), ClientType.DEVICE, Map.of());
        state.registered(new Identity(id, ClientType.DEVICE, null), "x");
      }
      EmbeddedChannel late = viewer(channels, alloc);
      int[] status = {0};
      stream.subscribe(late.pipeline().firstContext(), s -> status[0] = s);
      assertThat(status[0]).isEqualTo(503);
      FullHttpResponse refused = late.readOutbound();
      assertThat(refused.status()).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
      refused.release();
      assertThat(late.isOpen()).isFalse();

      timers.advanceTimeBy(1, TimeUnit.SECONDS);
      timers.runScheduledPendingTasks();
      assertThat(small.isOpen()).as("the viewer that missed a delta").isFalse();
      assertThat(stream.viewers()).isZero();
      releaseAll(small); // the chart sample that fitted, written before the delta failed
      alloc.assertAllReleased();

      // The timers survived: a viewer of a smaller fleet gets its snapshot and its deltas.
      for (Stub s : many) {
        registry.removeClient(s.id(), s);
      }
      EmbeddedChannel again = viewer(channels, alloc);
      stream.subscribe(again.pipeline().firstContext());
      releaseAll(again);
      registry.addClient("d1", "linux", new Stub("d1"), ClientType.DEVICE, Map.of());
      state.registered(new Identity("d1", ClientType.DEVICE, null), "x");
      timers.advanceTimeBy(2, TimeUnit.SECONDS);
      timers.runScheduledPendingTasks();
      List<String> sent = releaseAll(again);
      assertThat(sent).anyMatch(t -> t.contains("\"type\":\"delta\"") && t.contains("d1"));
    } finally {
      stream.close();
      for (EmbeddedChannel ch : channels) {
        ch.finishAndReleaseAll();
      }
      timers.finishAndReleaseAll();
    }
    alloc.assertAllReleased();
  }

  // ------------------------------------------------------------------------------ helpers

  private static Map<String, Object> bigObject() {
    List<Object> items = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      items.add("item-" + i);
    }
    return Map.of("items", items);
  }

  private static FullHttpRequest get(String path) {
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    r.headers().set("Host", "127.0.0.1").set("X-API-Key", KEY);
    return r;
  }

  private static EmbeddedChannel viewer(List<EmbeddedChannel> channels, FailingAllocator alloc) {
    EmbeddedChannel ch =
        new EmbeddedChannel(DefaultChannelId.newInstance(), new ChannelOutboundHandlerAdapter());
    ch.config().setAllocator(alloc);
    channels.add(ch);
    return ch;
  }

  /** The text of every content chunk written to {@code ch} so far; releases them. */
  private static List<String> releaseAll(EmbeddedChannel ch) {
    List<String> out = new ArrayList<>();
    for (Object m = ch.readOutbound(); m != null; m = ch.readOutbound()) {
      if (m instanceof HttpContent) {
        ByteBuf b = ((HttpContent) m).content();
        out.add(b.toString(UTF_8));
      }
      ReferenceCountUtil.release(m);
    }
    return out;
  }

  /** A registry entry's connection; nothing talks to it here. */
  private record Stub(String id) implements ClientConnection {
    @Override
    public void send(ServerMessage message) {}

    @Override
    public void close(int code, String reason) {}

    @Override
    public String remoteAddress() {
      return "127.0.0.1:1";
    }
  }
}
