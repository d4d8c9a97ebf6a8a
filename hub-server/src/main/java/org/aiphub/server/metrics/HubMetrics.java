package org.aiphub.server.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyEventExecutorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.HeldOutcomes;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.Setting;
import org.aiphub.server.config.Settings;
import org.aiphub.server.netty.ConnectionEvents;
import org.aiphub.server.netty.RequestRefusal;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;

/**
 * The hub's Micrometer meters, exposed in Prometheus format by {@link #scrape()}. Listens to the
 * router and the transport; every hot-path counter is looked up once, up front.
 */
public final class HubMetrics implements RouterEvents, ConnectionEvents, AutoCloseable {
  /** The limits whose hits {@link MetricNames#LIMITS_EXCEEDED} shows from start-up. */
  private static final List<Setting<?>> LIMITS =
      List.of(
          Settings.MAX_FRAGMENTS_PER_MESSAGE,
          Settings.MAX_JSON_TOKENS,
          Settings.MAX_CLIENT_INFO_BYTES,
          Settings.MAX_DEVICE_FEATURES,
          Settings.MAX_DEVICE_FEATURE_LENGTH,
          Settings.SESSION_BYTES_PER_OWNER,
          Settings.SESSION_BYTES,
          Settings.SLOW_CONSUMER_MAX_BYTES);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final EnumMap<ClientMessageType, Counter> in = new EnumMap<>(ClientMessageType.class);
  private final EnumMap<ServerMessageType, Counter> out = new EnumMap<>(ServerMessageType.class);
  private final Map<String, Counter> byLabel = new ConcurrentHashMap<>();
  private final EnumMap<RequestRefusal, Counter> requestRefusals =
      new EnumMap<>(RequestRefusal.class);
  private final Map<Long, Long> startedNanos = new ConcurrentHashMap<>();
  private final SessionTable sessions;
  private final Timer roundTrip;
  private final Timer dispatch;
  private final Counter registrationsOk;
  private final Counter slowConsumer;
  private final Counter idle;
  private final Counter registrationTimeouts;
  private final Counter badFrameCloses;
  private final Counter takeovers;
  private final JvmGcMetrics gc = new JvmGcMetrics();

  /** Meters over the hub's state; {@code openConnections} counts open sockets. */
  public HubMetrics(
      ClientRegistry clients,
      SessionTable sessions,
      EventLoopGroup workers,
      IntSupplier openConnections) {
    this.sessions = sessions;
    for (ClientMessageType t : ClientMessageType.values()) {
      in.put(t, registry.counter(MetricNames.MESSAGES_IN, "type", t.wire()));
    }
    for (ServerMessageType t : ServerMessageType.values()) {
      out.put(t, registry.counter(MetricNames.MESSAGES_OUT, "type", t.wire()));
    }
    for (ClientType t : ClientType.values()) {
      Gauge.builder(MetricNames.CLIENTS_CONNECTED, clients, r -> r.count(t))
          .tag("type", t.wire())
          .description("Online clients")
          .register(registry);
    }
    Gauge.builder(MetricNames.CONNECTIONS_OPEN, openConnections, IntSupplier::getAsInt)
        .strongReference(true) // a lambda has no other owner: a weak reference would read NaN
        .description("Open connections")
        .register(registry);
    Gauge.builder(MetricNames.SESSIONS_RUNNING, sessions, s -> s.counts().running())
        .description("Sessions running now")
        .register(registry);
    Gauge.builder(MetricNames.SESSIONS_HELD, sessions, s -> s.counts().held())
        .description("Finished sessions held for an offline owner")
        .register(registry);
    Gauge.builder(MetricNames.SESSION_BYTES, sessions, SessionTable::keptBytes)
        .description("Estimated heap of the session records kept (running and history)")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder(MetricNames.HELD_OUTCOME_BYTES, sessions, s -> s.heldSizes().bytes())
        .description("Estimated heap of the outcomes held for offline owners")
        .baseUnit("bytes")
        .register(registry);
    for (HeldOutcomes.DropReason r : HeldOutcomes.DropReason.values()) {
      counter(MetricNames.HELD_OUTCOMES_DROPPED, "reason", r.label());
    }
    roundTrip = latency(MetricNames.TASK_ROUND_TRIP, "Task received to task_end received");
    dispatch = latency(MetricNames.TASK_DISPATCH, "Task received to task written to the device");
    registrationsOk = registry.counter(MetricNames.REGISTRATIONS, "outcome", "ok");
    slowConsumer = registry.counter(MetricNames.SLOW_CONSUMER_CLOSES);
    idle = registry.counter(MetricNames.IDLE_CLOSES);
    registrationTimeouts = registry.counter(MetricNames.REGISTRATION_TIMEOUTS);
    badFrameCloses = registry.counter(MetricNames.BAD_FRAME_CLOSES);
    takeovers = registry.counter(MetricNames.TAKEOVERS);
    for (RequestRefusal r : RequestRefusal.values()) {
      requestRefusals.put(r, registry.counter(MetricNames.HTTP_REFUSALS, "reason", r.label()));
    }
    for (String outcome : new String[] {"completed", "failed", "cancelled"}) {
      counter(MetricNames.SESSIONS_FINISHED, "outcome", outcome);
    }
    for (Setting<?> limit : LIMITS) {
      counter(MetricNames.LIMITS_EXCEEDED, "limit", limit.key()); // 0 until it happens
    }

    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider) {
      new NettyAllocatorMetrics((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT)
          .bindTo(registry);
    }
    if (workers != null) {
      new NettyEventExecutorMetrics(workers).bindTo(registry);
    }
  }

  private Timer latency(String name, String description) {
    return Timer.builder(name)
        .description(description)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(10_000))
        .maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry);
  }

  private Counter counter(String name, String tag, String value) {
    return byLabel.computeIfAbsent(
        name + '\u0000' + value, k -> registry.counter(name, tag, value));
  }

  /** The Micrometer registry, for extra meters. */
  public MeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition (format 0.0.4). */
  public String scrape() {
    return registry.scrape();
  }

  /** Counts one HTTP API request. */
  public void httpRequest(String route, int status) {
    registry
        .counter(MetricNames.HTTP_REQUESTS, "route", route, "status", Integer.toString(status))
        .increment();
  }

  // ----------------------------------------------------------------------- router events

  @Override
  public void registered(Identity identity, String remoteAddress) {
    registrationsOk.increment();
  }

  @Override
  public void registrationRefused(String outcome, String remoteAddress) {
    counter(MetricNames.REGISTRATIONS, "outcome", outcome).increment();
  }

  @Override
  public void takenOver(String clientId, ClientType type) {
    takeovers.increment();
  }

  @Override
  public void refused(Identity identity, String reason) {
    counter(MetricNames.FRAMES_REJECTED, "reason", reason).increment();
  }

  @Override
  public void sessionStarted(Session session, long receivedNanos) {
    startedNanos.put(session.run(), receivedNanos);
    // This event follows the bind, so a departure on another event loop may already have ended
    // the session and run sessionFinished, which found nothing to remove. The table changes before
    // that event fires: re-checking it after the put leaves no entry behind either way.
    Session now = sessions.get(session.key()).orElse(null);
    if (now == null || !now.isRunning()) {
      startedNanos.remove(session.run());
    }
  }

  /** Sessions whose round trip is being timed (running ones), for tests. */
  int timedSessions() {
    return startedNanos.size();
  }

  @Override
  public void taskDispatched(Session session, long receivedNanos) {
    dispatch.record(System.nanoTime() - receivedNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void taskEndReceived(Session session, long receivedNanos) {
    Long started = startedNanos.get(session.run());
    if (started != null) {
      roundTrip.record(receivedNanos - started, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void sessionFinished(Session session) {
    startedNanos.remove(session.run());
    counter(MetricNames.SESSIONS_FINISHED, "outcome", session.state().wire()).increment();
  }

  // -------------------------------------------------------------------- connection events

  @Override
  public void connectionRefused(String reason) {
    counter(MetricNames.CONNECTIONS_REFUSED, "reason", reason).increment();
  }

  @Override
  public void requestRefused(RequestRefusal reason) {
    requestRefusals.get(reason).increment();
  }

  @Override
  public void messageIn(ClientMessageType type) {
    in.get(type).increment();
  }

  @Override
  public void messageOut(ServerMessageType type) {
    out.get(type).increment();
  }

  @Override
  public void frameRejected(String reason) {
    counter(MetricNames.FRAMES_REJECTED, "reason", reason).increment();
  }

  @Override
  public void registrationTimedOut() {
    registrationTimeouts.increment();
  }

  @Override
  public void registrationRefused(String outcome) {
    counter(MetricNames.REGISTRATIONS, "outcome", outcome).increment();
  }

  @Override
  public void tooManyBadFrames() {
    badFrameCloses.increment();
  }

  @Override
  public void slowConsumerClosed() {
    slowConsumer.increment();
  }

  @Override
  public void idleClosed() {
    idle.increment();
  }

  @Override
  public void heldOutcomeDropped(Session session, String reason) {
    counter(MetricNames.HELD_OUTCOMES_DROPPED, "reason", reason).increment();
  }

  @Override
  public void limitExceeded(String limit) {
    counter(MetricNames.LIMITS_EXCEEDED, "limit", limit).increment();
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
