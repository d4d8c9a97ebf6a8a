package org.aiphub.server.dashboard;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.aiphub.core.aip.AipTimestamps;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionKey;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.http.JsonViews;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;

/**
 * What the live dashboard shows, as JSON values: a full snapshot for a new viewer, then deltas that
 * carry only what changed since the last one, plus a time series of connected clients and tasks per
 * second. A delta names every row whose shown value changed: clients that joined, left, sent a
 * heartbeat, refreshed their system info or were re-merged by a config reload, and the owner and
 * executor of each session that started or ended (their running counts); sessions that started,
 * ended, or whose outcome started or stopped waiting for its owner. A session row is one run: a
 * reused session id has a row per run, told apart by the {@code run} field. Change tracking costs
 * one set insertion per event, and nothing while nobody watches. Thread-safe.
 */
public final class DashboardState implements RouterEvents {
  /**
   * Most sessions a snapshot or a delta carries (the page lists recent ones only), each as a
   * summary of bounded size ({@link JsonViews#summary}: previews, never whole requests or results).
   */
  static final int SESSION_LIMIT = 200;

  /** Samples kept for the chart: five minutes at one every two seconds. */
  static final int SERIES_LENGTH = 150;

  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final Clock clock;
  private final Function<String, String> nodeOf;
  private final Map<String, Connection> connections = new ConcurrentHashMap<>();
  private final AtomicReference<Set<String>> dirtyClients =
      new AtomicReference<>(ConcurrentHashMap.newKeySet());
  // By run, not by id: two runs of a reused id are two rows, each changing on its own.
  private final AtomicReference<Set<SessionKey>> dirtySessions =
      new AtomicReference<>(ConcurrentHashMap.newKeySet());
  private final ArrayDeque<Map<String, Object>> series = new ArrayDeque<>();
  private final AtomicInteger viewers = new AtomicInteger();
  private long lastFinished = -1;
  private Instant lastSampleAt;

  /**
   * A dashboard view over the hub's state.
   *
   * @param nodeOf the hub node holding a client's socket, or null for a single node
   */
  public DashboardState(
      ClientRegistry registry,
      SessionTable sessions,
      Clock clock,
      Function<String, String> nodeOf) {
    this.registry = registry;
    this.sessions = sessions;
    this.clock = clock;
    this.nodeOf = nodeOf;
  }

  /**
   * A viewer started watching; changes are tracked from now on. Call it before taking the viewer's
   * {@link #snapshot()}, so that nothing changing after the snapshot goes untracked.
   */
  public void viewerJoined() {
    viewers.incrementAndGet();
  }

  /** A viewer stopped watching (once per {@link #viewerJoined()}); tracking stops with the last. */
  public void viewerLeft() {
    viewers.decrementAndGet();
  }

  /**
   * Whether anybody is watching. A count rather than a flag set from the viewer list: one viewer
   * leaving while another is joining must never turn tracking off under the newcomer.
   */
  private boolean watched() {
    return viewers.get() > 0;
  }

  // ----------------------------------------------------------------------------- tracking

  @Override
  public void registered(Identity identity, String remoteAddress) {
    // Every registration starts its row afresh, a takeover too: like "connected since", the
    // target, last heartbeat and sessions started describe this connection, not an earlier one.
    connections.put(identity.clientId(), new Connection(identity.targetId()));
    dirtyClient(identity.clientId());
  }

  @Override
  public void departed(Identity identity, int sessionsEnded) {
    // A quick reconnect may register the id again before this older departure is reported; the
    // check and the removal are one step, so the new connection's row is never the one dropped.
    connections.computeIfPresent(identity.clientId(), (id, c) -> registry.isOnline(id) ? c : null);
    dirtyClient(identity.clientId());
  }

  @Override
  public void heartbeat(Identity identity) {
    connection(identity.clientId()).lastHeartbeat = clock.instant();
    dirtyClient(identity.clientId());
  }

  @Override
  public void deviceInfoUpdated(String deviceId, Map<String, Object> reported) {
    dirtyClient(deviceId);
  }

  @Override
  public void sessionStarted(Session session, long receivedNanos) {
    if (session.ownerId() != null) {
      connection(session.ownerId()).started.incrementAndGet();
      dirtyClient(session.ownerId());
    }
    dirtyClient(session.executorId());
    dirtySession(session);
  }

  @Override
  public void sessionFinished(Session session) {
    // Both rows show a running count that just dropped: the owner's as much as the executor's.
    dirtyClient(session.ownerId());
    dirtyClient(session.executorId());
    dirtySession(session);
  }

  /**
   * The device config was reloaded and re-merged into every online device: any device's tags, tier,
   * features or task limit may have changed.
   */
  public void devicesReconfigured() {
    for (String id : registry.listClientsByType(ClientType.DEVICE)) {
      dirtyClient(id);
    }
  }

  /**
   * A client of another hub node (cluster mode) was mirrored here or its description changed: its
   * row shows what that node published.
   */
  public void mirrorChanged(String clientId) {
    dirtyClient(clientId);
  }

  @Override
  public void heldChanged(Session session) {
    dirtySession(session); // its row shows "held" while the outcome waits for its owner
  }

  @Override
  public void heldOutcomeDropped(Session session, String reason) {
    dirtySession(session); // held no longer
  }

  /** What this node knows of a client's connection; a client registered elsewhere has none yet. */
  private Connection connection(String clientId) {
    return connections.computeIfAbsent(clientId, k -> new Connection(null));
  }

  private void dirtyClient(String id) {
    if (watched() && id != null) {
      dirtyClients.get().add(id);
    }
  }

  private void dirtySession(Session s) {
    if (watched()) {
      dirtySessions.get().add(s.key());
    }
  }

  // ---------------------------------------------------------------------------- snapshot

  /** Everything the page shows, for a viewer that just connected. */
  public Map<String, Object> snapshot() {
    List<Object> devices = new ArrayList<>();
    List<Object> constellations = new ArrayList<>();
    List<String> ids = registry.listClients();
    ids.sort(Comparator.naturalOrder());
    for (String id : ids) {
      registry
          .getClientInfo(id)
          .ifPresent(i -> (i.isDevice() ? devices : constellations).add(client(i)));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "snapshot");
    m.put("devices", devices);
    m.put("constellations", constellations);
    m.put("sessions", recentSessions());
    m.put("totals", totals());
    synchronized (series) {
      m.put("series", new ArrayList<>(series));
    }
    return m;
  }

  private List<Object> recentSessions() {
    Instant now = clock.instant();
    List<Object> out = new ArrayList<>();
    // Running first (they matter most), then the newest finished ones.
    for (Session s : sessions.list(Session::isRunning, SESSION_LIMIT)) {
      out.add(JsonViews.summary(s, now));
    }
    for (Session s : sessions.list(s -> !s.isRunning(), SESSION_LIMIT - out.size())) {
      out.add(JsonViews.summary(s, now));
    }
    return out;
  }

  // ------------------------------------------------------------------------------- deltas

  /**
   * What changed since the previous call, or {@code null} when nothing did. Clients that left come
   * as {@code {"id": ..., "gone": true}}.
   */
  public Map<String, Object> delta() {
    Set<String> clients = dirtyClients.getAndSet(ConcurrentHashMap.newKeySet());
    Set<SessionKey> changedSessions = dirtySessions.getAndSet(ConcurrentHashMap.newKeySet());
    if (clients.isEmpty() && changedSessions.isEmpty()) {
      return null;
    }
    List<Object> clientJson = new ArrayList<>();
    for (String id : clients) {
      ClientInfo i = registry.getClientInfo(id).orElse(null);
      if (i == null) {
        Map<String, Object> gone = new LinkedHashMap<>();
        gone.put("id", id);
        gone.put("gone", true);
        clientJson.add(gone);
      } else {
        clientJson.add(client(i));
      }
    }
    Instant now = clock.instant();
    List<Session> changed = new ArrayList<>();
    for (SessionKey key : changedSessions) {
      sessions.get(key).ifPresent(changed::add);
    }
    changed.sort(Comparator.comparing(Session::createdAt).reversed());
    List<Object> sessionJson = new ArrayList<>();
    for (Session s : changed.subList(0, Math.min(SESSION_LIMIT, changed.size()))) {
      sessionJson.add(JsonViews.summary(s, now));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "delta");
    m.put("clients", clientJson);
    m.put("sessions", sessionJson);
    m.put("totals", totals());
    return m;
  }

  /**
   * Takes a chart sample (connected clients, tasks finished per second since the last sample) and
   * returns it as a delta message.
   */
  public Map<String, Object> sample() {
    Instant now = clock.instant();
    SessionCounts c = sessions.counts();
    long finished = c.completed() + c.failed() + c.cancelled();
    double perSecond = 0;
    synchronized (series) {
      if (lastFinished >= 0 && lastSampleAt != null) {
        double seconds = Math.max(0.001, (now.toEpochMilli() - lastSampleAt.toEpochMilli()) / 1e3);
        perSecond = Math.round((finished - lastFinished) / seconds * 10) / 10.0;
      }
      lastFinished = finished;
      lastSampleAt = now;
      Map<String, Object> point = new LinkedHashMap<>();
      point.put("t", now.toEpochMilli());
      point.put(
          "clients", registry.count(ClientType.DEVICE) + registry.count(ClientType.CONSTELLATION));
      point.put("devices", registry.count(ClientType.DEVICE));
      point.put("tasks_per_second", perSecond);
      series.addLast(point);
      while (series.size() > SERIES_LENGTH) {
        series.removeFirst();
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("type", "sample");
      m.put("sample", point);
      m.put("totals", totals());
      return m;
    }
  }

  private Map<String, Object> totals() {
    SessionCounts c = sessions.counts();
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("devices", registry.count(ClientType.DEVICE));
    t.put("constellations", registry.count(ClientType.CONSTELLATION));
    t.put("running", c.running());
    t.put("completed", c.completed());
    t.put("failed", c.failed());
    t.put("cancelled", c.cancelled());
    return t;
  }

  private Map<String, Object> client(ClientInfo i) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", i.clientId());
    m.put("type", i.clientType().wire());
    m.put("connected_at", AipTimestamps.format(i.connectedAt()));
    Connection c = connections.get(i.clientId());
    Instant beat = c == null ? null : c.lastHeartbeat;
    m.put("last_heartbeat", beat == null ? null : AipTimestamps.format(beat));
    if (nodeOf != null) {
      m.put("node", nodeOf.apply(i.clientId()));
    }
    if (i.isDevice()) {
      m.put("platform", i.platform());
      m.put("tags", i.tags());
      m.put("features", i.features());
      m.put("tier", tier(i));
      m.put("running", registry.getDeviceSessions(i.clientId()).size());
      m.put("limit", i.maxConcurrentTasks() == 0 ? null : i.maxConcurrentTasks());
    } else {
      m.put("target", c == null ? null : c.target);
      m.put("sessions_started", c == null ? 0 : c.started.get());
      m.put("running", registry.getConstellationSessions(i.clientId()).size());
    }
    return m;
  }

  private static Object tier(ClientInfo i) {
    Map<String, Object> si = i.systemInfo();
    if (si == null) {
      return null;
    }
    Object custom = si.get("custom_metadata");
    if (custom instanceof Map && ((Map<?, ?>) custom).get("tier") instanceof String) {
      return ((Map<?, ?>) custom).get("tier");
    }
    return si.get("tier") instanceof String ? si.get("tier") : null;
  }

  /** What the page shows about one registration of a client beyond its registry entry. */
  private static final class Connection {
    final String target;
    final AtomicLong started = new AtomicLong();
    volatile Instant lastHeartbeat;

    Connection(String target) {
      this.target = target;
    }
  }
}
