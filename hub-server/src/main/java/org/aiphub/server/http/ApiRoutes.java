package org.aiphub.server.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.core.aip.AipTimestamps;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfigException;
import org.aiphub.core.json.JsonValues;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.RegistryStats;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionKey;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.DeviceConfigReloader;
import org.aiphub.server.directory.ClusterView;
import org.aiphub.server.route.DispatchException;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.route.Text;

/**
 * The HTTP API: the reference server's routes ({@code /api/health}, {@code /api/clients}, {@code
 * /api/dispatch}, {@code /api/task_result/{name}}) and the hub's own (devices, selection, stats,
 * sessions, metrics, reload). Knows nothing of Netty: a request in, an {@link ApiResponse} out.
 * Authentication happens before; every route here but {@code /healthz} is behind the key.
 */
public final class ApiRoutes {
  /** Task names the dispatch route accepts (no path tricks: no slash, no leading dot). */
  public static final Pattern TASK_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

  /**
   * Most JSON tokens in a request body: a dispatch body has three fields, and a body of tiny values
   * up to {@code max_body_bytes} would otherwise become half a million objects.
   */
  static final int MAX_BODY_TOKENS = 10_000;

  private static final JsonFactory JSON =
      new JsonFactoryBuilder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(16)
                  .maxTokenCount(MAX_BODY_TOKENS)
                  .build())
          // As for client frames (AipCodec): the caller chooses the names, and Jackson's
          // field-name symbol table fails on colliding ones with a hash seed drawn per parse
          // ("suspect a DoS attack"), sometimes before the token budget and sometimes after it.
          // Without the table the budget alone decides, every time.
          .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
          .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
          .build();
  private static final int DEFAULT_LIMIT = 100;
  private static final int MAX_LIMIT = 1000;

  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final TaskRouter router;
  private final Supplier<String> metrics;
  private final DeviceConfigReloader reloader;
  private final Clock clock;
  private final Instant startedAt;
  private final ClusterView cluster;
  private final DashboardAssets assets = new DashboardAssets();

  /** Routes over the hub's state. */
  public ApiRoutes(
      ClientRegistry registry,
      SessionTable sessions,
      TaskRouter router,
      Supplier<String> metrics,
      DeviceConfigReloader reloader,
      Clock clock) {
    this(registry, sessions, router, metrics, reloader, clock, null);
  }

  /**
   * Routes over the hub's state; with {@code cluster}, the health, client, device and stats answers
   * also describe the cluster (the registry already mirrors every node's clients). Sessions ({@code
   * /api/sessions}, {@code /api/task_result}) stay this node's: the ones its constellations own and
   * the ones its devices run, whose full records (request, times, result) only the nodes taking
   * part hold.
   */
  public ApiRoutes(
      ClientRegistry registry,
      SessionTable sessions,
      TaskRouter router,
      Supplier<String> metrics,
      DeviceConfigReloader reloader,
      Clock clock,
      ClusterView cluster) {
    this.cluster = cluster;
    this.registry = registry;
    this.sessions = sessions;
    this.router = router;
    this.metrics = metrics;
    this.reloader = reloader;
    this.clock = clock;
    this.startedAt = clock.instant();
  }

  /** Whether the path is served without the API key (only the liveness probe). */
  public static boolean isPublic(String path) {
    // The dashboard's files hold no data: the page asks for the key before it shows anything.
    return "/healthz".equals(path) || DashboardAssets.serves(path);
  }

  /** Whether answering may block (file I/O), so the caller runs it off the event loop. */
  public static boolean isBlocking(ApiRequest req) {
    return "/api/admin/reload-devices".equals(req.path());
  }

  /** A short route label for metrics (no ids, so the label set stays small). */
  public static String routeLabel(String path) {
    if (path.startsWith("/api/task_result/")) {
      return "/api/task_result/{task_name}";
    }
    if (DashboardAssets.serves(path)) {
      return "/dashboard";
    }
    if (path.startsWith("/api/devices/") && !path.equals("/api/devices/select")) {
      return "/api/devices/{id}";
    }
    if (path.startsWith("/api/sessions/")) {
      return "/api/sessions/{id}";
    }
    switch (path) {
      case "/healthz":
      case "/metrics":
      case "/api/health":
      case "/api/clients":
      case "/api/dispatch":
      case "/api/devices":
      case "/api/devices/select":
      case "/api/stats":
      case "/api/sessions":
      case "/api/admin/reload-devices":
      case "/api/events":
        return path;
      default:
        return "other";
    }
  }

  /** Answers one request. */
  public ApiResponse handle(ApiRequest req) {
    String path = req.path();
    String m = req.method();
    if (DashboardAssets.serves(path)) {
      return get(m)
          .orElseGet(
              () ->
                  assets
                      .get(path)
                      .orElseGet(() -> ApiResponse.error(404, "the dashboard is not packaged")));
    }
    switch (path) {
      case "/healthz":
        return get(m).orElseGet(() -> ApiResponse.text(200, "ok", "text/plain; charset=utf-8"));
      case "/metrics":
        return get(m)
            .orElseGet(
                () ->
                    ApiResponse.text(
                        200, metrics.get(), "text/plain; version=0.0.4; charset=utf-8"));
      case "/api/health":
        return get(m).orElseGet(this::health);
      case "/api/clients":
        return get(m).orElseGet(() -> ApiResponse.json(200, Map.of("online_clients", clientIds())));
      case "/api/dispatch":
        return post(m).orElseGet(() -> dispatch(req));
      case "/api/devices":
        return get(m).orElseGet(this::devices);
      case "/api/devices/select":
        return get(m).orElseGet(() -> select(req));
      case "/api/stats":
        return get(m).orElseGet(this::stats);
      case "/api/sessions":
        return get(m).orElseGet(() -> listSessions(req));
      case "/api/admin/reload-devices":
        return post(m).orElseGet(this::reload);
      default:
        break;
    }
    if (path.startsWith("/api/task_result/")) {
      return get(m).orElseGet(() -> taskResult(path.substring("/api/task_result/".length())));
    }
    if (path.startsWith("/api/devices/")) {
      return get(m).orElseGet(() -> device(path.substring("/api/devices/".length())));
    }
    if (path.startsWith("/api/sessions/")) {
      return get(m).orElseGet(() -> session(req, path.substring("/api/sessions/".length())));
    }
    return ApiResponse.error(404, "no route " + Text.quote(path));
  }

  private static Optional<ApiResponse> get(String method) {
    return allow(method, "GET");
  }

  private static Optional<ApiResponse> post(String method) {
    return allow(method, "POST");
  }

  private static Optional<ApiResponse> allow(String method, String allowed) {
    if (allowed.equals(method)) {
      return Optional.empty();
    }
    return Optional.of(
        ApiResponse.error(405, "method " + method + " not allowed here; use " + allowed)
            .withHeader("Allow", allowed));
  }

  // ------------------------------------------------------------------ reference-compatible routes

  private ApiResponse health() {
    Map<String, Object> body = new LinkedHashMap<>();
    ClusterView.Snapshot view = cluster == null ? null : cluster.snapshot();
    body.put("status", view != null && view.degraded() ? "degraded" : "healthy");
    body.put("online_clients", clientIds());
    if (view != null) {
      body.put("node_id", view.nodeId());
      if (view.degraded()) {
        body.put(
            "reason",
            "cluster backplane (Redis) unavailable: serving local clients, refusing cross-node"
                + " work");
      }
    }
    return ApiResponse.json(200, body);
  }

  private List<String> clientIds() {
    List<String> ids = registry.listClients();
    Collections.sort(ids);
    return ids;
  }

  private ApiResponse dispatch(ApiRequest req) {
    Map<String, Object> body;
    try {
      body = jsonObject(req.body());
    } catch (IllegalArgumentException e) {
      return ApiResponse.error(400, e.getMessage());
    }
    Object clientId = body.get("client_id");
    Object request = body.get("request");
    Object taskName = body.get("task_name");
    if (!(clientId instanceof String) || ((String) clientId).isEmpty()) {
      return ApiResponse.error(400, "client_id must be a non-empty string");
    }
    if (!(request instanceof String) || ((String) request).isBlank()) {
      return ApiResponse.error(400, "request must be a non-empty string");
    }
    if (taskName != null
        && (!(taskName instanceof String) || !TASK_NAME.matcher((String) taskName).matches())) {
      return ApiResponse.error(
          400,
          "task_name must be 1-128 characters of A-Z a-z 0-9 . _ - and must not start with a dot");
    }
    String name =
        taskName == null ? "task_" + org.aiphub.server.route.Ids.uuid() : (String) taskName;
    String deviceId = router.ids().canonical((String) clientId);
    Session s;
    try {
      s = router.dispatch(deviceId, (String) request, name);
    } catch (DispatchException e) {
      return ApiResponse.error(e.reason().httpStatus(), e.getMessage());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("status", "dispatched");
    out.put("task_name", name);
    out.put("client_id", deviceId);
    out.put("session_id", s.id());
    return ApiResponse.json(200, out);
  }

  private ApiResponse taskResult(String taskName) {
    if (!TASK_NAME.matcher(taskName).matches()) {
      return ApiResponse.error(400, "invalid task_name " + Text.quote(taskName));
    }
    // HTTP dispatches only: a client's own sessions are another namespace, whatever their name.
    Optional<Session> latest = sessions.latestDispatched(taskName);
    Map<String, Object> out = new LinkedHashMap<>();
    if (latest.isEmpty()) {
      // The reference answers "pending" for a name it holds no result for (not dispatched yet,
      // or aged out of the history); polling scripts written against it rely on that.
      out.put("status", "pending");
      return ApiResponse.json(200, out);
    }
    Session s = latest.get();
    if (s.isRunning()) {
      out.put("status", "pending");
      out.put("session_id", s.id());
      return ApiResponse.json(200, out);
    }
    out.put("status", "done");
    out.put("result", s.result());
    out.put("state", s.state().wire());
    out.put("error", s.error());
    out.put("session_id", s.id());
    return ApiResponse.json(200, out);
  }

  // --------------------------------------------------------------------------- hub routes

  private ApiResponse devices() {
    List<String> ids = registry.listClientsByType(ClientType.DEVICE);
    Collections.sort(ids);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("devices", ids);
    out.put("count", ids.size());
    out.put("by_platform", new TreeMap<>(registry.getStats().devicesByPlatform()));
    return ApiResponse.json(200, out);
  }

  private ApiResponse device(String path) {
    String id = router.ids().canonical(path);
    Optional<ClientInfo> info = registry.getClientInfo(id).filter(ClientInfo::isDevice);
    if (info.isEmpty()) {
      return ApiResponse.error(404, "no online device " + Text.quote(id));
    }
    ClientInfo i = info.get();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("device_id", i.clientId());
    out.put("platform", i.platform());
    if (cluster != null) {
      out.put("node", nodeOf(i));
    }
    out.put("connected_at", AipTimestamps.format(i.connectedAt()));
    out.put("system_info", i.systemInfo());
    out.put("running_sessions", new ArrayList<>(registry.getDeviceSessions(id)));
    out.put("max_concurrent_tasks", i.maxConcurrentTasks() == 0 ? null : i.maxConcurrentTasks());
    return ApiResponse.json(200, out);
  }

  /** The hub node holding a client's socket. */
  private String nodeOf(ClientInfo i) {
    return cluster.nodeOf(i.clientId());
  }

  private ApiResponse select(ApiRequest req) {
    String platform = req.param("platform");
    List<String> capabilities = req.params("capability");
    List<String> tags = req.params("tag");
    Optional<String> pick = registry.selectOptimalDevice(platform, capabilities, tags);
    if (pick.isEmpty()) {
      return ApiResponse.error(
          404,
          "no online device with room for a task matches platform="
              + (platform == null ? "any" : Text.quote(platform))
              + ", capabilities="
              + capabilities
              + ", tags="
              + tags);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("device_id", pick.get());
    out.put("platform", registry.getClientInfo(pick.get()).map(ClientInfo::platform).orElse(null));
    out.put("running_sessions", registry.getDeviceSessions(pick.get()).size());
    return ApiResponse.json(200, out);
  }

  private ApiResponse stats() {
    RegistryStats r = registry.getStats();
    SessionCounts c = sessions.counts();
    Map<String, Object> out = new LinkedHashMap<>(r.toMap());
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("running", c.running());
    s.put("completed", c.completed());
    s.put("failed", c.failed());
    s.put("cancelled", c.cancelled());
    s.put("held", c.held());
    s.put("history", sessions.historySize());
    out.put("sessions", s);
    ClusterView.Snapshot view = cluster == null ? null : cluster.snapshot();
    if (view != null) {
      Map<String, Object> clusterInfo = new LinkedHashMap<>();
      clusterInfo.put("node_id", view.nodeId());
      clusterInfo.put("degraded", view.degraded());
      clusterInfo.put("nodes", view.nodes());
      out.put("cluster", clusterInfo);
    }
    out.put("started_at", AipTimestamps.format(startedAt));
    out.put("uptime_seconds", Duration.between(startedAt, clock.instant()).toSeconds());
    return ApiResponse.json(200, out);
  }

  /**
   * Session summaries ({@link JsonViews#summary}: no request or result bodies), newest first, a
   * page of at most {@code limit}: {@code {"sessions": [...], "count", "next"}}. {@code next} is
   * the cursor of the following page (pass it back as {@code before}), or null on the last one.
   */
  private ApiResponse listSessions(ApiRequest req) {
    String stateParam = req.param("state");
    SessionState state = stateParam == null ? null : SessionState.fromWire(stateParam);
    if (stateParam != null && state == null) {
      return ApiResponse.error(400, "state must be one of running, completed, failed, cancelled");
    }
    String client = router.ids().canonical(req.param("client"));
    int limit = limit(req);
    if (limit < 1) {
      return badLimit();
    }
    String beforeParam = req.param("before");
    Cursor before = beforeParam == null ? null : Cursor.parse(beforeParam);
    if (beforeParam != null && before == null) {
      return ApiResponse.error(
          400, "before must be the next cursor of an earlier /api/sessions answer");
    }
    Predicate<Session> filter =
        s ->
            (state == null || s.state() == state)
                && (client == null || client.equals(s.ownerId()) || client.equals(s.executorId()))
                && (before == null || before.isAfter(s));
    // One more than asked for: whether it exists says whether there is a next page.
    List<Session> page = sessions.list(filter, limit + 1);
    Instant now = clock.instant();
    List<Object> out = new ArrayList<>();
    for (Session s : page.subList(0, Math.min(limit, page.size()))) {
      out.add(JsonViews.summary(s, now));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("sessions", out);
    body.put("count", out.size());
    body.put("next", page.size() > limit ? Cursor.of(page.get(limit - 1)).toString() : null);
    return ApiResponse.json(200, body);
  }

  /**
   * A position in the session list (newest first, by creation time, then run): a page starts after
   * it. Opaque to clients; here {@code <creation time in epoch nanoseconds>-<run>}.
   */
  private record Cursor(long createdNanos, long run) {
    private static final Pattern FORM = Pattern.compile("([0-9]{1,19})-([0-9]{1,19})");

    static Cursor of(Session s) {
      return new Cursor(nanos(s.createdAt()), s.run());
    }

    /** The cursor {@code text} spells, or null when it is not one. */
    static Cursor parse(String text) {
      Matcher m = FORM.matcher(text);
      if (!m.matches()) {
        return null;
      }
      try {
        return new Cursor(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
      } catch (NumberFormatException e) {
        return null; // past the range of a long
      }
    }

    /** Whether {@code s} comes after this position in the list (it is older). */
    boolean isAfter(Session s) {
      long created = nanos(s.createdAt());
      return created < createdNanos || (created == createdNanos && s.run() < run);
    }

    private static long nanos(Instant t) {
      return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    @Override
    public String toString() {
      return createdNanos + "-" + run;
    }
  }

  /** The {@code limit} parameter: its default when absent, -1 when it is not allowed. */
  private static int limit(ApiRequest req) {
    String limitParam = req.param("limit");
    if (limitParam == null) {
      return DEFAULT_LIMIT;
    }
    int limit;
    try {
      limit = Integer.parseInt(limitParam);
    } catch (NumberFormatException e) {
      return -1;
    }
    return limit < 1 || limit > MAX_LIMIT ? -1 : limit;
  }

  private static ApiResponse badLimit() {
    return ApiResponse.error(400, "limit must be an integer from 1 to " + MAX_LIMIT);
  }

  /**
   * One session id: its newest run as a whole record (request and result included), or with {@code
   * run=N} that run's; with {@code all=true} every run the history holds (a finished id may be
   * reused, by anyone), newest first, as summaries like the list's: {@code {"session_id", "runs":
   * [summaries], "count"}}, at most {@code limit} runs. Whole records come one at a time: a run's
   * request and result may each be as large as a WebSocket message.
   */
  private ApiResponse session(ApiRequest req, String path) {
    String id = router.ids().canonical(path);
    if (router.ids().problem("session_id", id) != null) {
      return ApiResponse.error(400, "invalid session id " + Text.quote(id));
    }
    String all = req.param("all");
    if (all != null && !"true".equals(all) && !"false".equals(all)) {
      return ApiResponse.error(400, "all must be true or false");
    }
    String runParam = req.param("run");
    if (runParam != null) {
      long run;
      try {
        run = Long.parseLong(runParam);
      } catch (NumberFormatException e) {
        return ApiResponse.error(400, "run must be the run number of one of this id's runs");
      }
      if ("true".equals(all)) {
        return ApiResponse.error(400, "run and all=true do not go together");
      }
      return sessions
          .get(new SessionKey(id, run))
          .map(s -> ApiResponse.json(200, sessionJson(s)))
          .orElseGet(
              () -> ApiResponse.error(404, "no run " + run + " of session " + Text.quote(id)));
    }
    if (!"true".equals(all)) {
      return sessions
          .get(id)
          .map(s -> ApiResponse.json(200, sessionJson(s)))
          .orElseGet(() -> ApiResponse.error(404, "no session " + Text.quote(id)));
    }
    int limit = limit(req);
    if (limit < 1) {
      return badLimit();
    }
    Instant now = clock.instant();
    List<Object> runs = new ArrayList<>();
    for (Session s : sessions.runs(id, limit)) {
      runs.add(JsonViews.summary(s, now));
    }
    if (runs.isEmpty()) {
      return ApiResponse.error(404, "no session " + Text.quote(id));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("session_id", id);
    body.put("runs", runs);
    body.put("count", runs.size());
    return ApiResponse.json(200, body);
  }

  /** A session as JSON, as {@code /api/sessions/{id}} shows it (request and result included). */
  public Map<String, Object> sessionJson(Session s) {
    return JsonViews.session(s, clock.instant());
  }

  private ApiResponse reload() {
    if (!reloader.configured()) {
      return ApiResponse.error(400, "no device config file is configured (device_config)");
    }
    try {
      DeviceConfigReloader.Result r = reloader.reload();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("status", "reloaded");
      out.put("source", r.source());
      out.put("devices", r.entries());
      out.put("remerged_online_devices", r.remerged());
      return ApiResponse.json(200, out);
    } catch (DeviceConfigException e) {
      return ApiResponse.error(
          500, "reload failed, the previous device config stays in force: " + e.getMessage());
    }
  }

  /** Parses a request body that must be one JSON object. */
  static Map<String, Object> jsonObject(byte[] body) {
    if (body.length == 0) {
      throw new IllegalArgumentException("the body must be a JSON object");
    }
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("the body must be a JSON object");
      }
      Map<String, Object> m = JsonValues.readObject(p);
      if (p.nextToken() != null) {
        throw new IllegalArgumentException("unexpected data after the JSON object");
      }
      return m;
    } catch (StreamConstraintsException e) {
      throw new IllegalArgumentException(
          String.valueOf(e.getMessage()).startsWith("Token count")
              ? "the body has more than " + MAX_BODY_TOKENS + " JSON tokens"
              : "the body is not valid JSON");
    } catch (IOException e) {
      throw new IllegalArgumentException("the body is not valid JSON");
    }
  }
}
