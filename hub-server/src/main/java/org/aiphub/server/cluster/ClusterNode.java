package org.aiphub.server.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.aiphub.core.aip.AipCodec;
import org.aiphub.core.aip.AipDecodeException;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.metrics.MetricNames;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.route.Text;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This hub node's membership in a cluster that shares one registry through Redis.
 *
 * <p><b>State in Redis.</b> {@code hub:node:ID} holds the node's lease (its epoch, with a TTL the
 * node renews); {@code hub:client-node} maps each client id to the {@code node:epoch} holding its
 * socket, {@code hub:clients} to its description as that node shows it (type, platform, connection
 * time, merged system info, task limit); {@code hub:sessions} lists running sessions with their
 * owner and executor. Claims and releases are Lua scripts, so the check and the write are one
 * atomic step.
 *
 * <p><b>Mirror.</b> Every node keeps every other node's clients in its own {@link ClientRegistry},
 * as entries whose connection is a {@link RemoteConnection}. So routing, device selection, device
 * info and the HTTP API see the whole cluster, and a remote client's departure runs the same
 * disconnect path as a local one (sessions end, the other side is told). Events keep it current; a
 * reconciliation with Redis ({@link MirrorReconciliation}) on every join, every few renewals and
 * whenever a peer has re-announced its clients ({@code hub:node-synced:ID}) repairs what lost
 * events left behind, such as a client that left while Redis was down and came back empty.
 *
 * <p><b>Messages.</b> Joins, leaves, info refreshes and "synced" go to {@code hub:events}; work for
 * one node goes to its channel {@code hub:to:ID} as {@link ClusterMessage}s: the executing node
 * enters a session too, and reports its outcome back.
 *
 * <p><b>Failures.</b> A node that stops renewing loses its clients after the lease: the others
 * notice within one renewal interval, end the sessions involving them and reap its entries. A node
 * that finds it was reaped closes its sockets (4002) rather than resurrect stale entries. While
 * Redis is unreachable a node serves its local clients, refuses cross-node work, fails the
 * cross-node sessions it had (nothing could complete them), reports itself degraded, and resyncs
 * when Redis returns.
 *
 * <p><b>Threads.</b> Every Redis exchange and every mirror change runs on one cluster thread, so
 * they happen in order; event loops only hand work to it, or publish messages asynchronously.
 */
public final class ClusterNode implements RouterEvents, AutoCloseable {
  /** Close code for local clients dropped because this node lost its cluster lease. */
  public static final int CLOSE_LEASE_LOST = 4002;

  /** Error text of cross-node sessions ended because the backplane became unreachable. */
  public static final String CLUSTER_UNAVAILABLE = "cluster_unavailable";

  static final String EVENTS = "hub:events";
  private static final String OWNERS = "hub:client-node";
  private static final String CLIENTS = "hub:clients";
  private static final String NODES = "hub:nodes";
  private static final String SESSIONS = "hub:sessions";
  private static final Duration REDIS_TIMEOUT = Duration.ofSeconds(2);
  // Anti-entropy against lost events: the mirror is checked against Redis this often (renewals).
  private static final int RECONCILE_EVERY = 10;
  private static final int HMGET_BATCH = 1000;

  private static final String CLAIM =
      "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
          + "if cur and cur ~= ARGV[2] then\n"
          + "  local node = string.match(cur, '^(.*):[^:]*$')\n"
          + "  if ARGV[4] == 'reject' and redis.call('EXISTS', 'hub:node:' .. node) == 1 then\n"
          + "    return cur\n"
          + "  end\n"
          + "  redis.call('SREM', 'hub:node-clients:' .. node, ARGV[1])\n"
          + "end\n"
          + "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
          + "redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])\n"
          + "redis.call('SADD', KEYS[3], ARGV[1])\n"
          + "redis.call('PUBLISH', ARGV[6], ARGV[5])\n"
          + "return false\n";
  // A session's record and its node's index change together, in one round trip each way: four
  // separate commands per task cost the node more CPU than the task itself (BENCHMARKS.md).
  private static final String RECORD_SESSION =
      "redis.call('SADD', KEYS[2], ARGV[1])\n"
          + "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
          + "return 1\n";
  private static final String DROP_SESSION =
      "redis.call('HDEL', KEYS[1], ARGV[1])\n"
          + "redis.call('SREM', KEYS[2], ARGV[1])\n"
          + "return 1\n";
  private static final String RELEASE =
      "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
          + "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
          + "  redis.call('HDEL', KEYS[2], ARGV[1])\n"
          + "  redis.call('SREM', KEYS[3], ARGV[1])\n"
          + "  redis.call('PUBLISH', ARGV[4], ARGV[3])\n"
          + "  return 1\n"
          + "end\n"
          + "return 0\n";
  // A new description of a client, written only while this node's claim (node:epoch) on it still
  // stands: the id may have moved to another node meanwhile (a takeover there), and a refresh
  // must neither take it back nor announce it as joined here.
  private static final String REFRESH =
      "if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end\n"
          + "redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])\n"
          + "redis.call('PUBLISH', ARGV[5], ARGV[4])\n"
          + "return 1\n";
  private static final String RENEW =
      "local v = redis.call('GET', KEYS[1])\n"
          + "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
          + "if not v then return 0 end\n"
          + "return -1\n";
  // Whether a peer is down is decided here, atomically with the reaping, and nowhere else: a
  // lease seen missing one round trip earlier may have been renewed since. Verdicts: 0 the lease
  // is held (alive); 1 reaped now; 2 the lease is gone and another node is reaping it; 3 the
  // lease is gone but the caller may not reap yet (ARGV[5] is not 1: just back from an outage).
  private static final String REAP =
      "local peer = ARGV[1]\n"
          + "if redis.call('EXISTS', 'hub:node:' .. peer) == 1 then return 0 end\n"
          + "if ARGV[5] ~= '1' then return 3 end\n"
          + "if not redis.call('SET', 'hub:reap-lock:' .. peer, '1', 'NX', 'PX', ARGV[2]) then"
          + " return 2 end\n"
          + "for _, id in ipairs(redis.call('SMEMBERS', 'hub:node-clients:' .. peer)) do\n"
          + "  local cur = redis.call('HGET', 'hub:client-node', id)\n"
          + "  if cur and string.sub(cur, 1, #peer + 1) == peer .. ':' then\n"
          + "    redis.call('HDEL', 'hub:client-node', id)\n"
          + "    redis.call('HDEL', 'hub:clients', id)\n"
          + "  end\n"
          + "end\n"
          + "redis.call('DEL', 'hub:node-clients:' .. peer)\n"
          + "for _, s in ipairs(redis.call('SMEMBERS', 'hub:node-sessions:' .. peer)) do\n"
          + "  redis.call('HDEL', 'hub:sessions', s)\n"
          + "end\n"
          + "redis.call('DEL', 'hub:node-sessions:' .. peer)\n"
          + "redis.call('SREM', 'hub:nodes', peer)\n"
          + "redis.call('DEL', 'hub:node-synced:' .. peer)\n"
          + "redis.call('SET', 'hub:reaped:' .. peer, '1', 'PX', 3600000)\n"
          + "redis.call('PUBLISH', ARGV[3], ARGV[4])\n"
          + "return 1\n";
  private static final long LEASE_HELD = 0;
  private static final long REAPED = 1;
  private static final long REAPED_ELSEWHERE = 2;

  private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);

  private final HubConfig config;
  private final String nodeId;
  private final String nodeSessionsKey;
  private final ClientRegistry registry;
  private volatile Consumer<String> mirrorChanged = id -> {};
  private final SessionTable sessions;
  private final AipCodec codec = new AipCodec();
  private final ScheduledExecutorService thread;
  private final Map<String, Map<String, RemoteConnection>> remoteByNode = new ConcurrentHashMap<>();
  private final Map<String, ClientConnection> local = new ConcurrentHashMap<>();
  private final Map<String, String> acceptedFrom = new ConcurrentHashMap<>();
  // Mirrored owners learned from a task before their join: Redis may not list them yet.
  private final Set<RemoteConnection> provisional = ConcurrentHashMap.newKeySet();
  private Set<RemoteConnection> suspects = Set.of(); // cluster thread only
  private int renewalsSinceReconcile; // cluster thread only
  private final Counter sent;
  private final Counter received;
  private volatile TaskRouter router;
  private volatile RedisBackplane redis;
  private volatile String epoch = newEpoch();
  private volatile boolean degraded = true;
  private volatile boolean stopped;
  private volatile Set<String> peers = Set.of();
  private volatile long reapNotBefore = System.nanoTime();
  private volatile Consumer<String> beforeReap = peer -> {};

  /**
   * A node, not started yet.
   *
   * @param meters where the cluster's meters go
   */
  public ClusterNode(
      HubConfig config, ClientRegistry registry, SessionTable sessions, MeterRegistry meters) {
    this.config = config;
    this.nodeId =
        config.cluster().nodeId() != null
            ? config.cluster().nodeId()
            : "node-" + UUID.randomUUID().toString().substring(0, 8);
    this.nodeSessionsKey = "hub:node-sessions:" + nodeId;
    this.registry = registry;
    this.sessions = sessions;
    this.thread =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "aip-hub-cluster");
              t.setDaemon(true);
              return t;
            });
    Gauge.builder(MetricNames.CLUSTER_DEGRADED, this, n -> n.degraded ? 1 : 0)
        .description("1 while the cluster backplane (Redis) is unreachable")
        .register(meters);
    Gauge.builder(MetricNames.CLUSTER_NODES, this, n -> n.view().nodes().size())
        .description("Hub nodes this node knows are alive, itself included")
        .register(meters);
    sent = meters.counter(MetricNames.CLUSTER_MESSAGES_OUT);
    received = meters.counter(MetricNames.CLUSTER_MESSAGES_IN);
  }

  /** This node's id. */
  public String nodeId() {
    return nodeId;
  }

  /** True while Redis is unreachable (or this node has not joined yet). */
  public boolean degraded() {
    return degraded;
  }

  /** Joins the cluster (or keeps trying in the background while Redis is unreachable). */
  public void start(TaskRouter router) {
    this.router = router;
    Duration every = config.cluster().renewInterval();
    try {
      thread.submit(this::connectAndJoin).get(REDIS_TIMEOUT.toMillis() * 4, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("cluster: could not join at start-up ({}); serving local clients", e.toString());
    }
    thread.scheduleWithFixedDelay(
        this::tick, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
  }

  // ------------------------------------------------------------------------- lease and peers

  /** Runs on the cluster thread: (re)connects when needed, renews the lease, checks peers. */
  private void tick() {
    if (stopped) {
      return;
    }
    try {
      if (redis == null) {
        connectAndJoin();
        return;
      }
      if (!redis.isOpen()) {
        enterDegraded("Redis connection is down");
        return;
      }
      if (degraded) {
        join();
        return;
      }
      long renewed =
          await(redis.evalLong(RENEW, new String[] {nodeKey(nodeId)}, epoch, leaseMillis()));
      if (renewed != 1) {
        // The lease lapsed. Reaped by a peer: the cluster ended our clients, so drop them.
        // Not reaped (Redis restarted and lost its data): nobody else acted, re-announce them.
        if (await(redis.exists("hub:reaped:" + nodeId)) == 1) {
          leaseLost();
        } else {
          join();
        }
        return;
      }
      checkPeers();
      if (++renewalsSinceReconcile >= RECONCILE_EVERY) {
        reconcile(false);
      }
    } catch (Exception e) {
      enterDegraded(e.toString());
    }
  }

  private void connectAndJoin() {
    if (stopped) {
      return;
    }
    try {
      if (redis == null) {
        redis =
            new RedisBackplane(
                config.cluster().redis(),
                REDIS_TIMEOUT,
                List.of(EVENTS, nodeChannel(nodeId)),
                (channel, message) -> onClusterThread(() -> onMessage(channel, message)),
                up -> {
                  if (!up) {
                    onClusterThread(() -> enterDegraded("Redis connection lost"));
                  }
                });
      }
      join();
    } catch (Exception e) {
      enterDegraded(e.toString());
    }
  }

  /**
   * Takes (or retakes) the lease and publishes this node's state: after a restart of Redis, or of
   * this node, or a partition. A node the others reaped meanwhile drops its sockets first.
   */
  private void join() {
    String current = await(redis.get(nodeKey(nodeId)));
    // Back after Redis was unreachable or lost its data: the peers' leases lapsed for the same
    // reason, and they may reconnect later than this node.
    boolean rejoining = degraded || current == null;
    boolean reaped = await(redis.exists("hub:reaped:" + nodeId)) == 1;
    if (current != null && !current.equals(epoch)) {
      // A previous run of this node id left a lease: its clients are gone with it.
      await(redis.evalLong("redis.call('DEL', KEYS[1]) return 1", new String[] {nodeKey(nodeId)}));
      reap(nodeId, true);
    } else if (current == null && reaped && !local.isEmpty()) {
      leaseLost();
      return;
    }
    // Until this join is done, the others must not read a client missing here as one that left.
    await(redis.del(syncedKey(nodeId)));
    await(redis.setWithTtl(nodeKey(nodeId), epoch, config.cluster().lease()));
    await(redis.sadd(NODES, nodeId));
    await(
        redis.evalLong(
            "redis.call('DEL', KEYS[1]) return 1", new String[] {"hub:reaped:" + nodeId}));
    // Clients that left while Redis was unreachable (or with an earlier run of this node id) are
    // still listed under this node: release them, or the other nodes would keep (and reload)
    // them as online.
    for (String id : await(redis.smembers("hub:node-clients:" + nodeId))) {
      String owner = local.containsKey(id) ? null : await(redis.hget(OWNERS, id));
      if (owner != null && nodeId.equals(nodeOf(owner))) {
        release(id, owner);
      }
    }
    for (Map.Entry<String, ClientConnection> e : List.copyOf(local.entrySet())) {
      registry
          .getClientInfo(e.getKey())
          .filter(i -> i.connection() == e.getValue())
          .ifPresent(this::announce);
    }
    reconcile(true);
    await(
        redis.evalLong(
            "redis.call('SET', KEYS[1], ARGV[1]) redis.call('PUBLISH', ARGV[2], ARGV[3]) return 1",
            new String[] {syncedKey(nodeId)},
            epoch,
            EVENTS,
            ClusterMessage.of("synced", "node", nodeId).encode()));
    if (rejoining) {
      // Give the peers one lease from now to renew before reaping them.
      reapNotBefore = System.nanoTime() + config.cluster().lease().toNanos();
    }
    if (degraded) {
      log.info("cluster: node {} joined via {}", nodeId, redactedUri());
    }
    degraded = false;
  }

  /**
   * Brings the mirror in line with Redis (see {@link MirrorReconciliation}): on every join, every
   * {@link #RECONCILE_EVERY} renewals, and when a peer is done announcing its clients. Entries
   * dropped go the way of a leave: their sessions here end and the other side is told. A {@code
   * full} pass (a join: info events may have been missed) also re-reads every kept description;
   * otherwise only those of entries to add are read, so a periodic pass costs one HGETALL of the
   * id-to-node map (tens of bytes per client) and two GETs per peer.
   */
  private void reconcile(boolean full) {
    renewalsSinceReconcile = 0;
    Map<String, String> owners = await(redis.hgetall(OWNERS));
    Set<String> nodes = new HashSet<>(remoteByNode.keySet());
    for (String owner : owners.values()) {
      String node = nodeOf(owner);
      if (node != null) {
        nodes.add(node);
      }
    }
    nodes.remove(nodeId);
    Set<String> alive = new HashSet<>();
    Set<String> settled = new HashSet<>();
    for (String node : nodes) {
      String lease = await(redis.get(nodeKey(node)));
      if (lease != null) {
        alive.add(node);
        if (lease.equals(await(redis.get(syncedKey(node))))) {
          settled.add(node);
        }
      }
    }
    MirrorReconciliation.Plan plan =
        MirrorReconciliation.plan(
            nodeId,
            owners,
            alive,
            settled,
            remoteByNode,
            provisional,
            suspects,
            id -> registry.getClientInfo(id).map(i -> !i.mirrored()).orElse(false));
    suspects = plan.suspects();
    for (RemoteConnection rc : plan.drop()) {
      dropRemote(rc);
    }
    List<String> describe = new ArrayList<>(plan.add());
    if (full) {
      for (Map<String, RemoteConnection> of : remoteByNode.values()) {
        for (RemoteConnection rc : of.values()) {
          if (rc.nodeId().equals(nodeOf(owners.get(rc.clientId())))) {
            describe.add(rc.clientId());
          }
        }
      }
    }
    Map<String, String> descriptions = full ? await(redis.hgetall(CLIENTS)) : read(describe);
    for (String id : describe) {
      String text = descriptions.get(id);
      ClusterMessage m;
      try {
        m = text == null ? null : ClusterMessage.decode(text);
      } catch (IllegalArgumentException e) {
        m = null;
      }
      String node = m == null ? null : m.string("node");
      ClientType type = m == null ? null : ClientType.fromWire(m.string("type"));
      // Released or moved since the snapshot: the events that follow say what happened.
      if (node != null && type != null && node.equals(nodeOf(owners.get(id)))) {
        mirror(node, id, type, m);
      }
    }
    if (full) {
      peers = alive;
    }
  }

  /** The stored descriptions of {@code ids}, a bounded batch per round trip. */
  private Map<String, String> read(List<String> ids) {
    Map<String, String> out = new HashMap<>();
    for (int from = 0; from < ids.size(); from += HMGET_BATCH) {
      List<String> batch = ids.subList(from, Math.min(ids.size(), from + HMGET_BATCH));
      out.putAll(await(redis.hmget(CLIENTS, batch)));
    }
    return out;
  }

  private void checkPeers() {
    Set<String> known = new HashSet<>(await(redis.smembers(NODES)));
    known.addAll(remoteByNode.keySet());
    known.remove(nodeId);
    Set<String> alive = new HashSet<>();
    boolean mayReap = System.nanoTime() - reapNotBefore >= 0;
    for (String peer : known) {
      beforeReap.accept(peer);
      long verdict = reap(peer, mayReap);
      if (verdict == LEASE_HELD) {
        alive.add(peer);
      } else if (verdict == REAPED || verdict == REAPED_ELSEWHERE) {
        // Only now, with Redis's word that the lease is gone, end the sessions involving it.
        peerDown(peer);
      }
    }
    peers = alive;
  }

  /** Reaps {@code peer} if its lease is gone; returns the {@link #REAP} script's verdict. */
  private long reap(String peer, boolean mayReap) {
    return await(
        redis.evalLong(
            REAP, new String[0], peer, leaseMillis(), EVENTS, nodeDown(peer), mayReap ? "1" : "0"));
  }

  /** Another node is gone: its clients leave this node's registry, ending their sessions. */
  private void peerDown(String peer) {
    Map<String, RemoteConnection> gone = remoteByNode.remove(peer);
    if (gone == null || gone.isEmpty()) {
      return;
    }
    log.warn("cluster: node {} is gone; removing its {} clients", peer, gone.size());
    for (RemoteConnection rc : gone.values()) {
      removeRemote(rc);
    }
  }

  /**
   * This node's lease expired while it could not renew it and the others reaped it: its sockets'
   * entries are gone cluster-wide and their sessions ended. Re-registering them would resurrect
   * stale state, so the sockets are closed; the clients reconnect and register afresh.
   */
  private void leaseLost() {
    log.warn("cluster: node {} lost its lease; closing its {} clients", nodeId, local.size());
    for (Map.Entry<String, ClientConnection> e : List.copyOf(local.entrySet())) {
      ClientConnection conn = e.getValue();
      registry
          .getClientInfo(e.getKey())
          .filter(i -> i.connection() == conn)
          .ifPresent(i -> router.disconnected(conn, identity(i)));
      conn.close(CLOSE_LEASE_LOST, "cluster lease lost; reconnect");
    }
    local.clear();
    epoch = newEpoch();
    degraded = true;
    join();
  }

  private void enterDegraded(String why) {
    if (stopped || degraded) {
      return;
    }
    degraded = true;
    log.warn("cluster: backplane unavailable ({}); serving local clients only", why);
    // Nothing can finish a cross-node session now: end them rather than leave them hanging.
    for (Session s : sessions.list(Session::isRunning, Integer.MAX_VALUE)) {
      if (isRemote(s.ownerId()) || isRemote(s.executorId())) {
        router.cancel(s, CLUSTER_UNAVAILABLE);
      }
    }
  }

  // ------------------------------------------------------------------------- mirror (events)

  private void onMessage(String channel, String text) {
    if (stopped || router == null) {
      return;
    }
    received.increment();
    ClusterMessage m;
    try {
      m = ClusterMessage.decode(text);
    } catch (IllegalArgumentException e) {
      log.warn("cluster: dropped an unreadable message on {}", channel);
      return;
    }
    try {
      if (EVENTS.equals(channel)) {
        onEvent(m);
      } else {
        onOp(m);
      }
    } catch (RuntimeException e) {
      log.warn("cluster: failed to apply a '{}' message", Text.escape(m.op()), e);
    }
  }

  private void onEvent(ClusterMessage m) {
    switch (m.op()) {
      case "join":
        onJoin(m);
        break;
      case "leave":
        {
          Map<String, RemoteConnection> of = remoteByNode.get(m.string("node"));
          RemoteConnection rc = of == null ? null : of.get(m.string("id"));
          if (rc != null) {
            dropRemote(rc);
          }
          break;
        }
      case "info":
        {
          Map<String, RemoteConnection> of = remoteByNode.get(m.string("node"));
          RemoteConnection rc = of == null ? null : of.get(m.string("id"));
          if (rc != null && rc.clientType() == ClientType.fromWire(m.string("type"))) {
            provisional.remove(rc);
            putMirrored(described(rc, m));
          }
          break;
        }
      case "synced":
        // A peer is done announcing its clients (after an outage): whatever it no longer lists
        // has left, even if its leave was never published (Redis restarted empty meanwhile).
        if (!nodeId.equals(m.string("node")) && redis != null && !degraded) {
          reconcile(false);
        }
        break;
      case "node_down":
        if (!nodeId.equals(m.string("node"))) {
          peerDown(m.string("node"));
        }
        break;
      default:
        break;
    }
  }

  /**
   * Tells {@code listener} the id of every client of another node whose mirrored entry was added or
   * changed here: those changes reach the registry without a router event, so a view of the fleet
   * (the dashboard) would not see them otherwise. Called on the cluster thread; must not block.
   */
  public void onMirrorChanged(Consumer<String> listener) {
    this.mirrorChanged = Objects.requireNonNull(listener, "listener");
  }

  /** Enters or refreshes a mirrored entry, and says so when it took. */
  private boolean putMirrored(ClientInfo info) {
    boolean took = registry.putMirrored(info);
    if (took) {
      mirrorChanged.accept(info.clientId());
    }
    return took;
  }

  /** A client joined another node (or was re-announced): mirror it here. */
  private void onJoin(ClusterMessage m) {
    String node = m.string("node");
    String id = m.string("id");
    ClientType type = ClientType.fromWire(m.string("type"));
    if (node == null || id == null || type == null || node.equals(nodeId)) {
      return;
    }
    ClientInfo existing = registry.getClientInfo(id).orElse(null);
    if (existing != null && !existing.mirrored()) {
      // Redis says another node holds this id now (a takeover there): this socket lost it.
      ClientConnection conn = existing.connection();
      router.disconnected(conn, identity(existing));
      local.remove(id, conn);
      conn.close(TaskRouter.CLOSE_TAKEN_OVER, "client_id taken over on hub node " + node);
    }
    mirror(node, id, type, m);
  }

  /**
   * Mirrors a client of another node as described: refreshes its entry, or drops an entry of
   * another node (or type) as a leave would and adds this one; a constellation new here gets the
   * outcomes held for it. Never touches a socket this node holds: the claims in Redis decide.
   */
  private void mirror(String node, String id, ClientType type, ClusterMessage description) {
    ClientInfo existing = registry.getClientInfo(id).orElse(null);
    if (existing != null && existing.connection() instanceof RemoteConnection) {
      RemoteConnection rc = (RemoteConnection) existing.connection();
      if (rc.nodeId().equals(node) && rc.clientType() == type) {
        provisional.remove(rc);
        ClientInfo next = described(rc, description);
        if (!next.equals(existing)) {
          putMirrored(next);
        }
        return;
      }
      dropRemote(rc);
    }
    RemoteConnection added = addRemote(node, id, type, description);
    if (added != null && type == ClientType.CONSTELLATION) {
      handOverHeld(added);
    }
  }

  /**
   * A constellation registered (again) on another node: outcomes this node held for it while it was
   * away (its sessions here ended when it left) go to it there, as the frames it would have got
   * here on registering. Ones that cannot be sent are held again.
   */
  private void handOverHeld(RemoteConnection owner) {
    for (Session s : router.takeHeld(owner.clientId())) {
      String frame = new String(codec.encode(router.messages().taskEnd(s)), StandardCharsets.UTF_8);
      publish(
          owner.nodeId(),
          ClusterMessage.of("frame", "to", owner.clientId(), "frame", frame),
          null,
          () -> router.hold(s));
    }
  }

  /**
   * Mirrors a client of another node, as {@code description} describes it (null: known only by id
   * and type so far, its join follows).
   */
  private RemoteConnection addRemote(
      String node, String id, ClientType type, ClusterMessage description) {
    RemoteConnection rc = new RemoteConnection(this, node, id, type);
    ClientInfo info =
        description != null
            ? described(rc, description)
            : ClientInfo.mirrorOf(
                id, type, rc, ClientRegistry.DEFAULT_PLATFORM, Instant.now(), null, 0);
    if (!putMirrored(info)) {
      return null; // registered locally at this very moment: the claims in Redis decide
    }
    remoteByNode.computeIfAbsent(node, n -> new ConcurrentHashMap<>()).put(id, rc);
    if (description == null) {
      provisional.add(rc);
    }
    return rc;
  }

  /** Drops a mirrored client as its leave does: its sessions here end, the other side is told. */
  private void dropRemote(RemoteConnection rc) {
    Map<String, RemoteConnection> of = remoteByNode.get(rc.nodeId());
    if (of != null) {
      of.remove(rc.clientId(), rc);
    }
    removeRemote(rc);
  }

  private void removeRemote(RemoteConnection rc) {
    provisional.remove(rc);
    ClientInfo info = registry.getClientInfo(rc.clientId()).orElse(null);
    if (info == null || info.connection() != rc) {
      return;
    }
    router.disconnected(rc, identity(info));
    // Outcomes for that owner are held on its own node; a copy here would never be asked for.
    router.takeHeld(rc.clientId());
  }

  private boolean isRemote(String clientId) {
    return clientId != null
        && registry
            .getClientInfo(clientId)
            .map(i -> i.connection() instanceof RemoteConnection)
            .orElse(false);
  }

  // ---------------------------------------------------------------------- ops (node channel)

  private void onOp(ClusterMessage m) {
    String to = m.string("to");
    switch (m.op()) {
      case "frame":
        {
          ClientConnection conn = to == null ? null : local.get(to);
          String frame = m.string("frame");
          if (conn != null && frame != null) {
            try {
              conn.send(codec.decodeServer(frame.getBytes(StandardCharsets.UTF_8)));
            } catch (AipDecodeException e) {
              log.warn("cluster: dropped an undecodable frame for {}", Text.escape(to));
            }
          }
          break;
        }
      case "task":
        acceptTask(m, to);
        break;
      case "outcome":
        {
          SessionState state = SessionState.fromWire(m.string("state"));
          if (state != null) {
            router.remoteOutcome(
                m.string("session_id"), state, m.value("result"), m.string("error"));
          }
          break;
        }
      case "cancel":
        router.remoteCancel(m.string("session_id"), m.string("reason"));
        break;
      case "close":
        {
          ClientConnection conn = to == null ? null : local.get(to);
          if (conn != null) {
            conn.close(m.integer("code", TaskRouter.CLOSE_TAKEN_OVER), m.string("reason"));
          }
          break;
        }
      default:
        break;
    }
  }

  /** The executing side of a cross-node task. */
  private void acceptTask(ClusterMessage m, String deviceId) {
    String sessionId = m.string("session_id");
    String owner = m.string("owner");
    String replyNode = m.string("reply_node");
    if (sessionId == null || deviceId == null || replyNode == null) {
      return;
    }
    if (owner != null && registry.getClientInfo(owner).isEmpty()) {
      // The task can outrun the owner's join event: learn the owner from the task itself.
      addRemote(replyNode, owner, ClientType.CONSTELLATION, null);
    }
    acceptedFrom.put(sessionId, replyNode);
    String refusal =
        router.acceptRemoteTask(
            sessionId, owner, deviceId, m.string("task_name"), m.string("request"));
    if (refusal != null) {
      acceptedFrom.remove(sessionId);
      publish(
          replyNode,
          ClusterMessage.of(
              "outcome", "to", owner, "session_id", sessionId, "state", "failed", "error", refusal),
          null,
          null);
    }
  }

  /**
   * Sends a frame to a client on another node, as the cluster message that frame stands for. Called
   * on event loops: it only publishes, asynchronously.
   */
  void sendToRemote(RemoteConnection to, ServerMessage m, Runnable onWritten, Runnable onFailure) {
    ClusterMessage msg;
    if (m.type() == ServerMessageType.TASK) {
      Session s = sessions.running(m.sessionId()).orElse(null);
      if (s == null) {
        fail(onFailure);
        return;
      }
      msg =
          ClusterMessage.of(
              "task",
              "to",
              to.clientId(),
              "session_id",
              s.id(),
              "owner",
              s.ownerId(),
              "reply_node",
              nodeId,
              "task_name",
              s.taskName(),
              "request",
              // As received: the session record may keep only the beginning of a long request.
              m.userRequest());
    } else if (m.type() == ServerMessageType.TASK_END && to.clientType() == ClientType.DEVICE) {
      msg =
          ClusterMessage.of(
              "cancel", "to", to.clientId(), "session_id", m.sessionId(), "reason", m.error());
    } else if (m.type() == ServerMessageType.TASK_END) {
      // A session this node runs for a remote owner: sessionFinished reports it to the owner's
      // node, which tells the owner. Nothing to send twice.
      if (onWritten != null) {
        onWritten.run();
      }
      return;
    } else {
      msg =
          ClusterMessage.of(
              "frame",
              "to",
              to.clientId(),
              "frame",
              new String(codec.encode(m), StandardCharsets.UTF_8));
    }
    publish(to.nodeId(), msg, onWritten, onFailure);
  }

  void closeRemote(RemoteConnection to, int code, String reason) {
    publish(
        to.nodeId(),
        ClusterMessage.of("close", "to", to.clientId(), "code", code, "reason", reason),
        null,
        null);
  }

  private void publish(String node, ClusterMessage msg, Runnable onWritten, Runnable onFailure) {
    RedisBackplane r = redis;
    if (r == null || degraded || stopped) {
      fail(onFailure);
      return;
    }
    sent.increment();
    CompletionStage<Long> published;
    try {
      published = r.publish(nodeChannel(node), msg.encode());
    } catch (RuntimeException e) {
      // Lettuce refuses synchronously once shut down: this runs on event loops, never throw there
      fail(onFailure);
      return;
    }
    published.whenComplete(
        (listeners, error) -> {
          if (error != null || listeners == null || listeners == 0) {
            fail(onFailure); // nobody subscribed: that node is gone
          } else if (onWritten != null) {
            onWritten.run();
          }
        });
  }

  /**
   * Hands work to the cluster thread. Event loops and Lettuce call this; after {@link #close()} or
   * {@link #kill()} the thread is gone and the work is dropped rather than thrown at the caller.
   */
  private void onClusterThread(Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException stopped) {
      // stopped: nothing to publish any more
    }
  }

  private static void fail(Runnable onFailure) {
    if (onFailure != null) {
      onFailure.run();
    }
  }

  // ---------------------------------------------------------------- local events (publishing)

  @Override
  public void registered(Identity identity, String remoteAddress) {
    registry
        .getClientInfo(identity.clientId())
        .filter(i -> !(i.connection() instanceof RemoteConnection))
        .ifPresent(
            i -> {
              local.put(i.clientId(), i.connection());
              // A takeover here displaced another node's client from the registry: it must leave
              // the mirror too, or per-node counts and that node's departure would still see it.
              for (Map<String, RemoteConnection> of : remoteByNode.values()) {
                RemoteConnection displaced = of.remove(i.clientId());
                if (displaced != null) {
                  provisional.remove(displaced);
                }
              }
              onClusterThread(() -> claimOrYield(i));
            });
  }

  private void claimOrYield(ClientInfo i) {
    if (redis == null || degraded || registry.getClientInfo(i.clientId()).orElse(null) != i) {
      return; // gone already, or announced at the next join
    }
    try {
      announce(i);
    } catch (RuntimeException e) {
      enterDegraded(e.toString());
    }
  }

  /** Claims a local client in Redis; gives it up when another node holds it under reject. */
  private void announce(ClientInfo i) {
    String holder = claim(i);
    if (holder != null) {
      // Lost a registration race with another node under the reject policy.
      ClientConnection conn = i.connection();
      router.disconnected(conn, identity(i));
      local.remove(i.clientId(), conn);
      conn.send(
          router
              .messages()
              .error(
                  "client_id "
                      + Text.quote(i.clientId())
                      + " is already registered on hub node "
                      + nodeOf(holder)));
      conn.close(TaskRouter.CLOSE_TAKEN_OVER, "client_id registered on another hub node");
    }
  }

  /** Publishes a local client; returns the other holder when the reject policy refuses it. */
  private String claim(ClientInfo i) {
    String description = description(i).encode();
    return await(
        redis.evalString(
            CLAIM,
            new String[] {OWNERS, CLIENTS, "hub:node-clients:" + nodeId},
            i.clientId(),
            ownClaim(),
            description,
            registry.policy().wire(),
            description,
            EVENTS));
  }

  /**
   * A local client as the other nodes mirror it: the {@code join} event, stored in Redis too. It
   * carries what this node shows of the client (connection time, merged system info, task limit),
   * so every node describes and routes to it alike, whatever device config the others have.
   */
  private ClusterMessage description(ClientInfo i) {
    return ClusterMessage.of(
        "join",
        "node",
        nodeId,
        "id",
        i.clientId(),
        "type",
        i.clientType().wire(),
        "platform",
        i.platform(),
        "connected_at",
        i.connectedAt().toString(),
        "system_info",
        i.systemInfo(),
        "max_concurrent_tasks",
        i.maxConcurrentTasks());
  }

  /** A client of another node as its node described it ({@link #description}). */
  private static ClientInfo described(RemoteConnection rc, ClusterMessage m) {
    String platform = m.string("platform");
    return ClientInfo.mirrorOf(
        rc.clientId(),
        rc.clientType(),
        rc,
        platform == null ? ClientRegistry.DEFAULT_PLATFORM : platform,
        instant(m.string("connected_at")),
        m.object("system_info"),
        Math.max(0, m.integer("max_concurrent_tasks", 0)));
  }

  private static Instant instant(String text) {
    if (text != null) {
      try {
        return Instant.parse(text);
      } catch (DateTimeParseException e) {
        // an unreadable time is no reason to leave the client out: it is online now
      }
    }
    return Instant.now();
  }

  /** This node's claim on the clients it holds, as {@code hub:client-node} stores it. */
  private String ownClaim() {
    return nodeId + ":" + epoch;
  }

  @Override
  public void departed(Identity identity, int sessionsEnded) {
    ClientConnection conn = local.remove(identity.clientId());
    if (conn == null) {
      return;
    }
    onClusterThread(
        () -> {
          if (redis == null || degraded) {
            return;
          }
          try {
            release(identity.clientId());
          } catch (RuntimeException e) {
            enterDegraded(e.toString());
          }
        });
  }

  /** Gives up this node's claim on a client (if it still holds it) and tells the others. */
  private void release(String clientId) {
    release(clientId, ownClaim());
  }

  /** Releases a client if Redis still lists it as held by {@code owner} ({@code node:epoch}). */
  private void release(String clientId, String owner) {
    await(
        redis.evalLong(
            RELEASE,
            new String[] {OWNERS, CLIENTS, "hub:node-clients:" + nodeId},
            clientId,
            owner,
            ClusterMessage.of("leave", "node", nodeId, "id", clientId).encode(),
            EVENTS));
  }

  @Override
  public void deviceInfoUpdated(String deviceId, Map<String, Object> reported) {
    ClientConnection conn = local.get(deviceId);
    if (conn == null) {
      return;
    }
    onClusterThread(
        () -> {
          if (redis == null || degraded) {
            return; // the next join publishes the device as it is then
          }
          ClientInfo now = registry.getClientInfo(deviceId).orElse(null);
          if (now == null || now.connection() != conn) {
            return; // gone, or registered again: that registration publishes its own description
          }
          try {
            refresh(now);
          } catch (RuntimeException e) {
            enterDegraded(e.toString());
          }
        });
  }

  /**
   * Republishes a local client's description while Redis still names this node's claim as its
   * holder; otherwise (another node took the id over) does nothing. Never claims.
   */
  private void refresh(ClientInfo i) {
    await(refreshAsync(i));
  }

  private CompletionStage<Long> refreshAsync(ClientInfo i) {
    ClusterMessage description = description(i);
    return redis.evalLong(
        REFRESH,
        new String[] {OWNERS, CLIENTS},
        i.clientId(),
        ownClaim(),
        description.encode(),
        new ClusterMessage("info", description.fields()).encode(),
        EVENTS);
  }

  /**
   * The device config was reloaded and this node's devices re-merged with it: republishes their
   * descriptions, so the other nodes' mirrors show the new merge too. Returns at once.
   */
  public void deviceConfigReloaded() {
    onClusterThread(
        () -> {
          if (redis == null || degraded) {
            return; // the next join publishes them as they are then
          }
          try {
            // All at once, then wait: one round trip at a time would take seconds at 20k devices.
            List<CompletionStage<Long>> pending = new ArrayList<>();
            for (Map.Entry<String, ClientConnection> e : List.copyOf(local.entrySet())) {
              registry
                  .getClientInfo(e.getKey())
                  .filter(i -> i.isDevice() && i.connection() == e.getValue())
                  .ifPresent(i -> pending.add(refreshAsync(i)));
            }
            for (CompletionStage<Long> p : pending) {
              await(p);
            }
          } catch (RuntimeException e) {
            enterDegraded(e.toString());
          }
        });
  }

  @Override
  public void sessionStarted(Session session, long receivedNanos) {
    RedisBackplane r = redis;
    if (acceptedFrom.containsKey(session.id()) || r == null || degraded || stopped) {
      return; // the owning node publishes its sessions
    }
    String record =
        ClusterMessage.of(
                "session",
                "owner",
                session.ownerId(),
                "executor",
                session.executorId(),
                "owner_node",
                nodeId,
                "state",
                "running",
                "task_name",
                session.taskName())
            .encode();
    try {
      String[] keys = sessionKeys();
      r.evalLong(RECORD_SESSION, keys, session.id(), record)
          .thenRun(
              () -> {
                // A fast cross-node outcome can overtake this event-loop write (its removal runs
                // on the cluster thread): then the record would stay forever.
                if (sessions.running(session.id()).isEmpty()) {
                  r.evalLong(DROP_SESSION, keys, session.id());
                }
              });
    } catch (RuntimeException e) {
      // shut down meanwhile: the record goes with this node's lease
    }
  }

  @Override
  public void sessionFinished(Session session) {
    String replyNode = acceptedFrom.remove(session.id());
    if (replyNode != null) {
      // This node ran the session for another node's owner: report how it ended.
      publish(
          replyNode,
          ClusterMessage.of(
              "outcome",
              "to",
              session.ownerId(),
              "session_id",
              session.id(),
              "state",
              session.state().wire(),
              "result",
              session.result(),
              "error",
              session.error()),
          null,
          null);
      return;
    }
    RedisBackplane r = redis;
    if (r != null && !degraded && !stopped) {
      try {
        r.evalLong(DROP_SESSION, sessionKeys(), session.id());
      } catch (RuntimeException e) {
        // shut down meanwhile: the record goes with this node's lease
      }
    }
  }

  /** The session records and this node's index of its own, as a script's KEYS. */
  private String[] sessionKeys() {
    return new String[] {SESSIONS, nodeSessionsKey};
  }

  // -------------------------------------------------------------------------------- the view

  /**
   * The cluster as this node sees it: itself and its live peers, with their clients by type.
   *
   * @param nodeId this node
   * @param degraded whether the backplane is unreachable
   * @param nodes per node: {@code devices} and {@code constellations}
   */
  public record View(String nodeId, boolean degraded, Map<String, Map<String, Integer>> nodes) {}

  /** Counts per node, from this node's registry (which mirrors the others'). */
  public View view() {
    Map<String, Map<String, Integer>> nodes = new TreeMap<>();
    int remoteDevices = 0;
    int remoteConstellations = 0;
    Set<String> all = new HashSet<>(peers);
    all.addAll(remoteByNode.keySet());
    for (String node : all) {
      Map<String, RemoteConnection> of = remoteByNode.getOrDefault(node, Map.of());
      int d = 0;
      int c = 0;
      for (RemoteConnection rc : of.values()) {
        if (rc.clientType() == ClientType.DEVICE) {
          d++;
        } else {
          c++;
        }
      }
      remoteDevices += d;
      remoteConstellations += c;
      nodes.put(node, counts(d, c));
    }
    nodes.put(
        nodeId,
        counts(
            Math.max(0, registry.count(ClientType.DEVICE) - remoteDevices),
            Math.max(0, registry.count(ClientType.CONSTELLATION) - remoteConstellations)));
    return new View(nodeId, degraded, nodes);
  }

  /** The node holding a client's socket, when it is not this one. */
  public Optional<String> nodeOfClient(String clientId) {
    return registry
        .getClientInfo(clientId)
        .map(ClientInfo::connection)
        .filter(c -> c instanceof RemoteConnection)
        .map(c -> ((RemoteConnection) c).nodeId());
  }

  private static Map<String, Integer> counts(int devices, int constellations) {
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put("devices", devices);
    m.put("constellations", constellations);
    return m;
  }

  // ---------------------------------------------------------------------------- stop, kill

  /**
   * Leaves the cluster cleanly: this node's clients are released (the others see them leave) and
   * its lease is dropped. Call after the local sessions have ended.
   */
  @Override
  public void close() {
    if (stopped) {
      return;
    }
    try {
      thread
          .submit(
              () -> {
                stopped = true;
                if (redis != null && !degraded) {
                  for (String id : List.copyOf(local.keySet())) {
                    release(id);
                  }
                  await(
                      redis.evalLong(
                          "if redis.call('GET', KEYS[1]) == ARGV[1] then"
                              + " redis.call('DEL', KEYS[1], KEYS[3]) end"
                              + " redis.call('SREM', KEYS[2], ARGV[2]) return 1",
                          new String[] {nodeKey(nodeId), NODES, syncedKey(nodeId)},
                          epoch,
                          nodeId));
                }
              })
          .get(REDIS_TIMEOUT.toMillis() * 3, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("cluster: could not leave cleanly ({})", e.toString());
    } finally {
      stopped = true;
      thread.shutdownNow();
      if (redis != null) {
        redis.close();
      }
    }
  }

  /**
   * Stops taking part without telling anybody, as a crash would: no release, no renewal. For tests
   * of node failure; the others reap this node once its lease runs out.
   */
  public void kill() {
    stopped = true;
    thread.shutdownNow();
    if (redis != null) {
      redis.close();
    }
  }

  // ------------------------------------------------------------------------------- helpers

  private <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(REDIS_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Redis: no answer within " + REDIS_TIMEOUT.toMillis() + " ms", e);
    } catch (Exception e) {
      throw new IllegalStateException("Redis: " + e.getMessage(), e);
    }
  }

  private String leaseMillis() {
    return Long.toString(config.cluster().lease().toMillis());
  }

  private static String nodeKey(String node) {
    return "hub:node:" + node;
  }

  /** Holds the epoch of the node's last completed join: its clients are all announced. */
  private static String syncedKey(String node) {
    return "hub:node-synced:" + node;
  }

  private static String nodeChannel(String node) {
    return "hub:to:" + node;
  }

  private static String nodeDown(String node) {
    return ClusterMessage.of("node_down", "node", node).encode();
  }

  /** The node of a {@code node:epoch} claim (null for null). */
  static String nodeOf(String owner) {
    if (owner == null) {
      return null;
    }
    int colon = owner.lastIndexOf(':');
    return colon < 0 ? owner : owner.substring(0, colon);
  }

  private static String newEpoch() {
    return UUID.randomUUID().toString();
  }

  private static Identity identity(ClientInfo i) {
    return new Identity(i.clientId(), i.clientType(), null);
  }

  private String redactedUri() {
    String uri = config.cluster().redis();
    int at = uri.indexOf('@');
    return at < 0 ? uri : uri.substring(0, uri.indexOf("//") + 2) + "***" + uri.substring(at);
  }

  /**
   * For tests: runs {@code task} on the cluster thread behind whatever is queued there. A task that
   * blocks stalls the node's cluster side (no renewals, no messages applied) as a long pause would.
   */
  void runOnClusterThread(Runnable task) {
    thread.execute(task);
  }

  /**
   * For tests: runs {@code hook} with a peer's id on the cluster thread just before this node asks
   * Redis whether that peer is down, so a test can change the peer's lease at that very moment.
   */
  void onBeforeReap(Consumer<String> hook) {
    beforeReap = hook;
  }

  /** Ids of clients whose sockets this node holds (for tests and diagnostics). */
  List<String> localClientIds() {
    return new ArrayList<>(local.keySet());
  }
}
