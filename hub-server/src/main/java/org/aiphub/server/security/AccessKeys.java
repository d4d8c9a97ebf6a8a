package org.aiphub.server.security;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that answers "which key is this request presenting, and what does it grant?", for
 * every door of the hub: the WebSocket upgrade ({@code HandshakeGuard}), the HTTP API, {@code
 * /metrics} and the dashboard feed ({@code HttpApiHandler}), the CORS preflight (which advertises
 * the headers a key is read from, {@link #HTTP_KEY_HEADERS}) and the dashboard's key prompt (which
 * shows the refusal text of {@link #operatorRefusal}).
 *
 * <p>Two keys: the client key ({@code api_key}), which every device and constellation holds, and
 * the operator key ({@code admin_key}). With both, the client key opens WebSocket connections only
 * and the operator key the HTTP API only; in particular the operator key never registers a client
 * (it would otherwise let an operator's script, or whoever steals it, pose as any device). Without
 * an operator key the client key opens both, as the reference server's single key does.
 *
 * <p>Keys are kept as SHA-256 digests ({@link ApiKey}) and every candidate is compared with both,
 * in constant time whatever it is. A request may carry a key in several places (several headers, or
 * a {@code ?token=} beside an {@code Authorization} header): it is granted a role only when every
 * non-empty key it presents is the same key. Empty values count as absent; two different keys grant
 * nothing, whichever of them is right, so no order among the places decides anything.
 */
public final class AccessKeys {
  private static final Logger log = LoggerFactory.getLogger(AccessKeys.class);

  /**
   * Where the HTTP API reads a key: {@code X-API-Key: KEY} or {@code Authorization: Bearer KEY}.
   */
  public static final List<String> HTTP_KEY_HEADERS = List.of("X-API-Key", "Authorization");

  /** What a presented key lets its holder do. */
  public enum Role {
    /** No key, a wrong one, or several different ones: nothing but the public routes. */
    NONE(false, false),
    /** The client key of a hub with an operator key: WebSocket connections only. */
    CLIENT(true, false),
    /** The operator key: the HTTP API, {@code /metrics} and the dashboard, never a WebSocket. */
    OPERATOR(false, true),
    /** The client key of a hub without an operator key: both, as with the reference server. */
    SHARED(true, true);

    private final boolean connects;
    private final boolean operates;

    Role(boolean connects, boolean operates) {
      this.connects = connects;
      this.operates = operates;
    }

    /** Whether it may open a WebSocket connection (and register as a client). */
    public boolean connects() {
      return connects;
    }

    /** Whether it may use the HTTP API, {@code /metrics} and the dashboard feed. */
    public boolean operates() {
      return operates;
    }
  }

  private final ApiKey client;
  private final ApiKey operator;

  private AccessKeys(ApiKey client, ApiKey operator) {
    this.client = Objects.requireNonNull(client, "client");
    this.operator = operator;
  }

  /** The client key alone: it opens every door (no operator key). */
  public static AccessKeys shared(ApiKey client) {
    return new AccessKeys(client, null);
  }

  /** The client key and, when {@code operatorKey} is not null, a separate operator key. */
  public static AccessKeys of(String clientKey, String operatorKey) {
    return new AccessKeys(
        ApiKey.of(clientKey), operatorKey == null ? null : ApiKey.of(operatorKey));
  }

  /**
   * Says (one WARN line) that the HTTP API accepts the client key, when no operator key is set, and
   * how to set one. The hub calls it once at start-up.
   */
  public void warnWithoutOperatorKey() {
    if (operator == null) {
      log.warn(
          "no admin_key: the HTTP API, /metrics and the dashboard accept the client key (api_key),"
              + " which every device holds; set an operator key with admin_key, HUB_ADMIN_KEY or"
              + " --admin-key");
    }
  }

  /** Whether an operator key is set, so that the client key no longer opens the HTTP API. */
  public boolean separateOperatorKey() {
    return operator != null;
  }

  /**
   * The role the presented keys grant: every non-empty one must be the same key ({@code null}s and
   * empty strings are absent keys).
   */
  public Role role(Iterable<String> presented) {
    Role role = null;
    for (String candidate : presented) {
      if (candidate == null || candidate.isEmpty()) {
        continue;
      }
      Role r = roleOf(candidate);
      if (r == Role.NONE || (role != null && role != r)) {
        return Role.NONE;
      }
      role = r;
    }
    return role == null ? Role.NONE : role;
  }

  private Role roleOf(String candidate) {
    byte[] digest = ApiKey.sha256(candidate);
    // Both compared, always: the time taken says nothing about which key, if any, matched.
    boolean isClient = client.matchesDigest(digest);
    boolean isOperator = operator != null && operator.matchesDigest(digest);
    if (isClient) {
      return operator == null ? Role.SHARED : Role.CLIENT;
    }
    return isOperator ? Role.OPERATOR : Role.NONE;
  }

  /**
   * The role of an HTTP API request: its keys in every {@code X-API-Key} header and every {@code
   * Authorization: Bearer} header. The API takes no key in its URL (a key there ends up in logs and
   * browser history).
   */
  public Role apiRole(HttpHeaders headers) {
    List<String> keys = new ArrayList<>(headers.getAll(HTTP_KEY_HEADERS.get(0)));
    for (String authorization : headers.getAll(HttpHeaderNames.AUTHORIZATION)) {
      keys.add(bearer(authorization)); // another scheme carries no key of the hub's
    }
    return role(keys);
  }

  /**
   * The role of a WebSocket upgrade: its keys in every {@code ?token=} parameter (the reference
   * clients' way; {@code parameters} are the request's decoded query parameters) and every {@code
   * Authorization: Bearer} header.
   */
  public Role upgradeRole(HttpHeaders headers, Map<String, List<String>> parameters) {
    List<String> keys = new ArrayList<>(parameters.getOrDefault("token", List.of()));
    for (String authorization : headers.getAll(HttpHeaderNames.AUTHORIZATION)) {
      keys.add(bearer(authorization));
    }
    return role(keys);
  }

  /**
   * The refusal of a WebSocket upgrade that presents no key a client may connect with; the same
   * text whatever was presented, so it tells nobody whether a guess was another valid key.
   */
  public String clientRefusal() {
    return operator == null
        ? "missing or invalid API key: pass ?token=KEY or Authorization: Bearer KEY"
        : "missing or invalid API key: pass the client key (api_key) as ?token=KEY or"
            + " Authorization: Bearer KEY; the operator key does not open WebSocket connections";
  }

  /**
   * The refusal of an HTTP API request that presents no key an operator may use; the same text
   * whatever was presented, so it tells nobody whether a guess was the client key. The dashboard's
   * key prompt shows it.
   */
  public String operatorRefusal() {
    return operator == null
        ? "missing or invalid API key: send X-API-Key: KEY"
        : "missing or invalid API key: this hub's HTTP API and dashboard take its operator key"
            + " (admin_key), not the client key: send X-API-Key: ADMIN_KEY";
  }

  /** The credentials of a {@code Bearer} authorization header, or null. */
  public static String bearer(String authorization) {
    if (authorization == null || authorization.length() < 7) {
      return null;
    }
    if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return authorization.substring(7).trim();
  }

  /** Never shows a key. */
  @Override
  public String toString() {
    return "AccessKeys(client hidden, operator " + (operator == null ? "none" : "hidden") + ")";
  }
}
