package org.aiphub.server.metrics;

/**
 * Every hub metric name, in Micrometer's dotted form; Prometheus shows them with underscores and
 * the usual suffixes ({@code hub.registrations} is {@code hub_registrations_total}, the timers are
 * {@code _seconds} histograms).
 */
public final class MetricNames {
  /** Gauge, tag {@code type}: online clients by type. */
  public static final String CLIENTS_CONNECTED = "hub.clients.connected";

  /** Gauge: open WebSocket and HTTP connections. */
  public static final String CONNECTIONS_OPEN = "hub.connections.open";

  /** Counter, tag {@code outcome}: registrations ({@code ok} or why refused). */
  public static final String REGISTRATIONS = "hub.registrations";

  /** Counter, tag {@code type}: AIP messages received. */
  public static final String MESSAGES_IN = "hub.messages.in";

  /** Counter, tag {@code type}: AIP messages sent. */
  public static final String MESSAGES_OUT = "hub.messages.out";

  /** Counter, tag {@code reason}: frames refused (undecodable, or refused by the router). */
  public static final String FRAMES_REJECTED = "hub.frames.rejected";

  /** Gauge: sessions running now. */
  public static final String SESSIONS_RUNNING = "hub.sessions.running";

  /** Gauge: finished sessions whose outcome waits for an offline owner. */
  public static final String SESSIONS_HELD = "hub.sessions.held";

  /**
   * Gauge: estimated heap, in bytes, of the session records the hub keeps (running sessions and the
   * history; bounded by {@code session_bytes}).
   */
  public static final String SESSION_BYTES = "hub.session.bytes";

  /**
   * Gauge: estimated heap, in bytes, of the outcomes held for offline owners (bounded by {@code
   * held_bytes}).
   */
  public static final String HELD_OUTCOME_BYTES = "hub.held.outcome.bytes";

  /**
   * Counter, tag {@code reason}: held outcomes dropped before their owner took them: {@code age}
   * (older than {@code held_age}), {@code owner_limit} (the owner already had {@code
   * held_outcomes_per_owner} or {@code held_bytes_per_owner}), {@code hub_limit} ({@code
   * held_bytes} reached). Every reason is exposed from start-up, at zero until it happens.
   */
  public static final String HELD_OUTCOMES_DROPPED = "hub.held.outcomes.dropped";

  /** Counter, tag {@code outcome}: sessions finished (completed, failed, cancelled). */
  public static final String SESSIONS_FINISHED = "hub.sessions.finished";

  /** Timer (histogram): hub received {@code task} to hub received its {@code task_end}. */
  public static final String TASK_ROUND_TRIP = "hub.task.round.trip";

  /** Timer (histogram): hub received {@code task} to task frame written to the device. */
  public static final String TASK_DISPATCH = "hub.task.dispatch";

  /** Counter: connections closed because the client stopped reading. */
  public static final String SLOW_CONSUMER_CLOSES = "hub.slow.consumer.closes";

  /** Counter: connections closed after staying silent past a ping. */
  public static final String IDLE_CLOSES = "hub.idle.closes";

  /** Counter: sockets that upgraded but never registered in time. */
  public static final String REGISTRATION_TIMEOUTS = "hub.registration.timeouts";

  /** Counter: connections closed for too many bad frames. */
  public static final String BAD_FRAME_CLOSES = "hub.bad.frame.closes";

  /** Counter: connections displaced by a takeover. */
  public static final String TAKEOVERS = "hub.takeovers";

  /**
   * Counter, tag {@code reason}: sockets turned away before any AIP traffic: {@code
   * too_many_connections} ({@code max_connections}), {@code too_many_from_address} ({@code
   * max_connections_per_address}), {@code too_many_registrations} ({@code
   * registrations_per_address_per_second}), {@code handshake_timeout} (no complete HTTP request in
   * time).
   */
  public static final String CONNECTIONS_REFUSED = "hub.connections.refused";

  /**
   * Counter, tag {@code reason}: HTTP requests, WebSocket upgrades and API calls alike, refused by
   * the access checks: {@code bad_host} (a {@code Host} not allowed: DNS rebinding), {@code
   * bad_origin} (a browser {@code Origin} not allowed), {@code bad_key} (no or a wrong API key),
   * {@code rate} (an upgrade over {@code registrations_per_address_per_second}; also counted as
   * {@code too_many_registrations} in {@link #CONNECTIONS_REFUSED}), and {@code bad_request} (a
   * request refused as malformed before those checks: undecodable, an HTTP/1.1 request without
   * exactly one {@code Host}, a bad percent-escape, the AIP path in another spelling). Every reason
   * is exposed from start-up, at zero until it happens.
   */
  public static final String HTTP_REFUSALS = "hub.http.refusals";

  /**
   * Counter, tag {@code limit}: times a client went past a documented per-client limit, named by
   * its config key (e.g. {@code max_fragments_per_message}: a WebSocket message in more frames than
   * allowed, closed with 1009); each limit is exposed at 0 from start-up.
   */
  public static final String LIMITS_EXCEEDED = "hub.limits.exceeded";

  /** Counter, tags {@code route} and {@code status}: HTTP API requests. */
  public static final String HTTP_REQUESTS = "hub.http.requests";

  /** Gauge, cluster mode: 1 while the Redis backplane is unreachable. */
  public static final String CLUSTER_DEGRADED = "hub.cluster.degraded";

  /** Gauge, cluster mode: hub nodes holding a lease. */
  public static final String CLUSTER_NODES = "hub.cluster.nodes";

  /** Counter, cluster mode: messages this node published on the backplane. */
  public static final String CLUSTER_MESSAGES_OUT = "hub.cluster.messages.out";

  /** Counter, cluster mode: backplane messages this node received. */
  public static final String CLUSTER_MESSAGES_IN = "hub.cluster.messages.in";

  private MetricNames() {}
}
