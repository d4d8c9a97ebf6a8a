package org.aiphub.server.netty;

/** The name of every handler the hub puts in a pipeline, in pipeline order. */
public final class ChannelHandlerNames {
  /** Counts sockets in and out; refuses those over the connection caps. */
  public static final String CONNECTION_LIMIT = "connection-limit";

  /** TLS, when a certificate is configured. */
  public static final String TLS = "tls";

  /** HTTP request decoder and response encoder (replaced by WebSocket codecs on upgrade). */
  public static final String HTTP_CODEC = "http-codec";

  /**
   * Closes plain HTTP connections (API callers, dashboard feed) that do not read what they are
   * sent; the WebSocket pipeline has its own, {@link #SLOW_CONSUMER}.
   */
  public static final String HTTP_SLOW_READER = "http-slow-reader";

  /**
   * Closes plain HTTP connections that do not complete a request in time; holds pipelined requests
   * while the client does not read its answers.
   */
  public static final String HTTP_DEADLINE = "http-deadline";

  /** Collects an HTTP request and its body up to the body limit. */
  public static final String HTTP_AGGREGATOR = "http-aggregator";

  /** Checks the API key before any WebSocket upgrade; routes other requests to the HTTP API. */
  public static final String HANDSHAKE_GUARD = "handshake-guard";

  /** The HTTP API and probe routes. */
  public static final String HTTP_API = "http-api";

  /** Netty's WebSocket upgrade, control frames and frame limits. */
  public static final String WS_PROTOCOL = "ws-protocol";

  /** Fails a connection that sent anything but frames before its handshake completed. */
  public static final String UPGRADE_GATE = "upgrade-gate";

  /** Closes a connection whose message comes in more fragments than the limit allows. */
  public static final String WS_FRAGMENTS = "ws-fragments";

  /** Reassembles fragmented WebSocket messages up to the frame limit. */
  public static final String WS_AGGREGATOR = "ws-aggregator";

  /** Fires an event when a connection has been silent for the idle timeout. */
  public static final String IDLE_STATE = "idle-state";

  /** Pings silent connections and closes those that stay silent. */
  public static final String LIVENESS = "liveness";

  /** Closes clients that stop reading instead of buffering for them without limit. */
  public static final String SLOW_CONSUMER = "slow-consumer";

  /** WebSocket frames to AIP records and back. */
  public static final String AIP_CODEC = "aip-codec";

  /** The per-connection state machine: registration, identity, routing, the close handshake. */
  public static final String CONNECTION = "connection";

  /** Sorts every exception that reaches the end of the pipeline. */
  public static final String EXCEPTIONS = "exceptions";

  private ChannelHandlerNames() {}
}
