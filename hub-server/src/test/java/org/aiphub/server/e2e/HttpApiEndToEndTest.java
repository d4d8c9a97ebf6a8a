package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.ALLOWED_ORIGINS;
import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.MAX_BODY_BYTES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.HubHttp.Reply;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.RawHttp;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every route of the HTTP API over a real socket (issue 4, "HTTP API"): the reference-compatible
 * routes, the hub's own routes, and the error contract (JSON {@code {"error": ...}} with 400, 401,
 * 404, 405, 413, 429). Clients register over real WebSockets.
 */
class HttpApiEndToEndTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

  @TempDir Path dir;

  private TestHub hub;
  private HubHttp http;
  private final List<WsClient> sockets = new ArrayList<>();

  private void start(UnaryOperator<HubConfig.Builder> tweak) {
    hub = TestHub.start(tweak);
    http = new HubHttp(hub);
  }

  private void start() {
    start(b -> b);
  }

  private Path deviceConfig(String yaml) throws Exception {
    Path p = dir.resolve("devices.yaml");
    Files.writeString(p, yaml);
    return p;
  }

  @AfterEach
  void stop() {
    for (WsClient c : sockets) {
      c.close();
    }
    if (hub != null) {
      hub.close();
    }
  }

  private WsClient device(String id, String platform, String... features) {
    WsClient c = hub.connect();
    sockets.add(c);
    c.send(JsonFrames.registerDevice(id, platform, List.of(features)));
    Clients.assertRegistered(c.next());
    return c;
  }

  private WsClient constellation(String id) {
    WsClient c = hub.connect();
    sockets.add(c);
    c.send(JsonFrames.registerConstellation(id));
    Clients.assertRegistered(c.next());
    return c;
  }

  private Map<String, Object> dispatch(String clientId, String request, String taskName) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("client_id", clientId);
    body.put("request", request);
    if (taskName != null) {
      body.put("task_name", taskName);
    }
    return http.post("/api/dispatch", body).ok(200);
  }

  /** Takes the device's next frame, which must be the task of {@code sessionId}. */
  private static ServerMessage takeTask(WsClient device, String sessionId) {
    ServerMessage m = device.next();
    assertThat(m.type()).as("frame %s", m).isEqualTo(ServerMessageType.TASK);
    assertThat(m.sessionId()).as("frame %s", m).isEqualTo(sessionId);
    return m;
  }

  private Map<String, Object> awaitDone(String taskName) {
    return await()
        .atMost(WAIT)
        .until(
            () -> http.get("/api/task_result/" + taskName).ok(200),
            m -> "done".equals(m.get("status")));
  }

  // ------------------------------------------------------------------ /api/health, /api/clients

  @Test
  void healthAndClientsListTheOnlineClientsSorted() {
    start();
    Reply empty = http.get("/api/health");
    assertThat(empty.ok(200))
        .containsExactly(entry("status", "healthy"), entry("online_clients", List.of()));
    assertThat(http.get("/api/clients").ok(200)).isEqualTo(Map.of("online_clients", List.of()));

    WsClient b = device("dev-b", "linux");
    constellation("con-a");
    device("dev-a", "windows");

    assertThat(http.get("/api/health").ok(200))
        .isEqualTo(
            Map.of("status", "healthy", "online_clients", List.of("con-a", "dev-a", "dev-b")));
    assertThat(http.get("/api/clients").ok(200))
        .isEqualTo(Map.of("online_clients", List.of("con-a", "dev-a", "dev-b")));

    b.close();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(http.get("/api/clients").ok(200))
                    .isEqualTo(Map.of("online_clients", List.of("con-a", "dev-a"))));
  }

  // ------------------------------------------------------------------------------ /api/dispatch

  @Test
  void dispatchSendsTheDeviceATaskOwnedByTheHub() {
    start();
    WsClient dev = device("dev-1", "linux");

    Map<String, Object> r = dispatch("dev-1", "Open Excel", "api.task-1_x");
    assertThat(r)
        .containsOnlyKeys("status", "task_name", "client_id", "session_id")
        .containsEntry("status", "dispatched")
        .containsEntry("task_name", "api.task-1_x")
        .containsEntry("client_id", "dev-1");
    String sid = (String) r.get("session_id");
    assertThat(sid).isNotBlank();

    ServerMessage task = takeTask(dev, sid);
    assertThat(task.status()).isEqualTo(TaskStatus.CONTINUE);
    assertThat(task.userRequest()).isEqualTo("Open Excel");
    assertThat(task.taskName()).isEqualTo("api.task-1_x");
    assertThat(task.responseId()).isNotBlank();

    Map<String, Object> s = http.get("/api/sessions/" + sid).ok(200);
    assertThat(s)
        .containsEntry("session_id", sid)
        .containsEntry("state", "running")
        .containsEntry("owner", null)
        .containsEntry("origin", "api")
        .containsEntry("device", "dev-1")
        .containsEntry("task_name", "api.task-1_x")
        .containsEntry("request", "Open Excel");
    assertThat(hub.server().sessions().get(sid).orElseThrow().ownerId()).isNull();
  }

  @Test
  void dispatchWithoutTaskNameGeneratesOne() {
    start();
    WsClient dev = device("dev-1", "linux");

    Map<String, Object> first = dispatch("dev-1", "one", null);
    Map<String, Object> second = dispatch("dev-1", "two", null);
    String name = (String) first.get("task_name");
    assertThat(name).matches("task_" + UUID);
    assertThat(second.get("task_name")).isNotEqualTo(name);

    assertThat(takeTask(dev, (String) first.get("session_id")).taskName()).isEqualTo(name);
    assertThat(takeTask(dev, (String) second.get("session_id")).taskName())
        .isEqualTo(second.get("task_name"));
    assertThat(http.get("/api/task_result/" + name).ok(200))
        .containsEntry("status", "pending")
        .containsEntry("session_id", first.get("session_id"));
  }

  @Test
  void dispatchRefusesBadBodiesWithA400AndSendsNothing() {
    start();
    WsClient dev = device("dev-1", "linux");
    String deep = "[".repeat(40) + "]".repeat(40);
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"\"}", "request");
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"   \"}", "request");
    cases.put("{\"client_id\":\"dev-1\"}", "request");
    cases.put("{\"client_id\":\"dev-1\",\"request\":7}", "request");
    cases.put("{\"client_id\":\"\",\"request\":\"x\"}", "client_id");
    cases.put("{\"request\":\"x\"}", "client_id");
    cases.put("{\"client_id\":null,\"request\":\"x\"}", "client_id");
    cases.put("{\"client_id\":[\"dev-1\"],\"request\":\"x\"}", "client_id");
    cases.put("[{\"client_id\":\"dev-1\",\"request\":\"x\"}]", "JSON object");
    cases.put("\"dev-1\"", "JSON object");
    cases.put("42", "JSON object");
    cases.put("null", "JSON object");
    cases.put("", "JSON object");
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"x\"", "JSON");
    cases.put("{client_id: dev-1}", "JSON");
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"x\"} {}", "after the JSON object");
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"x\",\"deep\":" + deep + "}", "JSON");
    for (String badName :
        List.of(
            "../x",
            "/abs",
            "..%2fx",
            ".hidden",
            "..",
            ".",
            "",
            "a b",
            "a/b",
            "a\\b",
            "x\ny",
            "tab\there",
            "caf\u00e9",
            "x".repeat(129))) {
      cases.put(
          HubHttp.write(Map.of("client_id", "dev-1", "request", "x", "task_name", badName)),
          "task_name");
    }
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"x\",\"task_name\":5}", "task_name");
    cases.put("{\"client_id\":\"dev-1\",\"request\":\"x\",\"task_name\":true}", "task_name");

    for (Map.Entry<String, String> c : cases.entrySet()) {
      Reply r = http.post("/api/dispatch", c.getKey());
      assertThat(r.error(400)).as("error for body %s", c.getKey()).contains(c.getValue());
    }
    assertThat(hub.server().sessions().counts().running()).isZero();

    // Names at the edge of the rule are fine, and the refused bodies sent the device nothing:
    // its next frame is the first good task.
    String edge = "-" + "x".repeat(127);
    Map<String, Object> good = dispatch("dev-1", "fine", edge);
    takeTask(dev, (String) good.get("session_id"));
    Map<String, Object> dotted = dispatch("dev-1", "fine", "v1.2.3..x.");
    takeTask(dev, (String) dotted.get("session_id"));
  }

  @Test
  void dispatchToAnOfflineClientOrAConstellationIs404() {
    start();
    constellation("con-1");

    String offline =
        http.post("/api/dispatch", Map.of("client_id", "ghost", "request", "x")).error(404);
    assertThat(offline).contains("ghost");
    String toConstellation =
        http.post("/api/dispatch", Map.of("client_id", "con-1", "request", "x")).error(404);
    assertThat(toConstellation).contains("con-1");
    assertThat(hub.server().sessions().counts().running()).isZero();
    assertThat(hub.server().sessions().historySize()).isZero();
  }

  @Test
  void dispatchToADeviceAtItsConfiguredLimitIs429UntilATaskEnds() throws Exception {
    Path cfg = deviceConfig("devices:\n  dev-cap:\n    max_concurrent_tasks: 1\n");
    start(b -> b.set(DEVICE_CONFIG, cfg));
    WsClient dev = device("dev-cap", "linux");

    Map<String, Object> first = dispatch("dev-cap", "first", "first");
    String firstId = (String) first.get("session_id");
    takeTask(dev, firstId);

    Reply busy = http.post("/api/dispatch", Map.of("client_id", "dev-cap", "request", "second"));
    assertThat(busy.error(429)).contains("dev-cap").contains("max_concurrent_tasks");
    assertThat(hub.server().sessions().counts().running()).isEqualTo(1);

    dev.send(JsonFrames.taskEnd("dev-cap", firstId, "completed", Map.of("ok", true), null));
    awaitDone("first");

    Map<String, Object> third = dispatch("dev-cap", "third", "third");
    // The refused task never reached the device: the next frame is the third one.
    takeTask(dev, (String) third.get("session_id"));
  }

  // ------------------------------------------------------------------------ /api/task_result

  @Test
  void taskResultIsPendingWhileRunningAndDoneWithTheNewestSessionsResult() {
    start();
    WsClient dev = device("dev-1", "linux");

    String first = (String) dispatch("dev-1", "make a report", "report-1").get("session_id");
    assertThat(http.get("/api/task_result/report-1").ok(200))
        .isEqualTo(Map.of("status", "pending", "session_id", first));

    takeTask(dev, first);
    dev.send(
        JsonFrames.taskEnd("dev-1", first, "completed", Map.of("total", 3, "sheet", "Q3"), null));
    Map<String, Object> done = awaitDone("report-1");
    assertThat(done)
        .containsEntry("status", "done")
        .containsEntry("result", Map.of("total", 3, "sheet", "Q3"))
        .containsEntry("state", "completed")
        .containsEntry("error", null)
        .containsEntry("session_id", first);

    // The same name again: the newest session is the one reported.
    String second = (String) dispatch("dev-1", "again", "report-1").get("session_id");
    assertThat(http.get("/api/task_result/report-1").ok(200))
        .isEqualTo(Map.of("status", "pending", "session_id", second));
    takeTask(dev, second);
    dev.send(JsonFrames.taskEnd("dev-1", second, "failed", null, "disk full"));
    Map<String, Object> failed =
        await()
            .atMost(WAIT)
            .until(
                () -> http.get("/api/task_result/report-1").ok(200),
                m -> "done".equals(m.get("status")) && second.equals(m.get("session_id")));
    assertThat(failed)
        .containsEntry("state", "failed")
        .containsEntry("error", "disk full")
        .containsEntry("result", null);
  }

  @Test
  void taskResultOfAnUnknownNameIsPendingAsInTheReferenceAndOfAnInvalidName400() {
    start();
    assertThat(http.get("/api/task_result/never-dispatched").ok(200))
        .isEqualTo(Map.of("status", "pending"));
    for (String bad : List.of(".hidden", "..%2fx", "%2Fabs", "a%20b", "%0Aevil", "", "..")) {
      assertThat(http.get("/api/task_result/" + bad).error(400)).as("name %s", bad).isNotBlank();
    }
  }

  // ------------------------------------------------------------------------------ /api/devices

  @Test
  void devicesListsOnlyDevicesWithCountsByPlatform() {
    start();
    device("lin-2", "linux");
    device("win-1", "Windows");
    device("lin-1", "linux");
    constellation("con-1");

    assertThat(http.get("/api/devices").ok(200))
        .isEqualTo(
            Map.of(
                "devices",
                List.of("lin-1", "lin-2", "win-1"),
                "count",
                3,
                "by_platform",
                Map.of("linux", 2, "windows", 1)));
  }

  @Test
  void deviceShowsMergedSystemInfoPlatformConnectedAtAndRunningSessions() throws Exception {
    Path cfg =
        deviceConfig(
            "devices:\n"
                + "  win-1:\n"
                + "    tags: [\"office\", \"gpu\"]\n"
                + "    tier: \"gold\"\n"
                + "    additional_features: [\"excel_automation\", \"gui\"]\n"
                + "    max_concurrent_tasks: 3\n");
    start(b -> b.set(DEVICE_CONFIG, cfg));
    Instant before = Instant.now();
    WsClient dev = device("win-1", "windows", "gui", "office");
    constellation("con-1");

    Map<String, Object> d = http.get("/api/devices/win-1").ok(200);
    assertThat(d)
        .containsEntry("device_id", "win-1")
        .containsEntry("platform", "windows")
        .containsEntry("running_sessions", List.of())
        .containsEntry("max_concurrent_tasks", 3);
    Instant connectedAt = OffsetDateTime.parse((String) d.get("connected_at")).toInstant();
    assertThat(connectedAt).isBetween(before.minusSeconds(1), Instant.now());
    @SuppressWarnings("unchecked")
    Map<String, Object> si = (Map<String, Object>) d.get("system_info");
    assertThat(si)
        .containsEntry("device_id", "win-1")
        .containsEntry("os_version", "test-os-1")
        .containsEntry("supported_features", List.of("gui", "office", "excel_automation"))
        .containsEntry("tags", List.of("office", "gpu"));
    assertThat(si.get("custom_metadata"))
        .isEqualTo(
            Map.of(
                "reported",
                "yes",
                "tags",
                List.of("office", "gpu"),
                "tier",
                "gold",
                "additional_features",
                List.of("excel_automation", "gui"),
                "max_concurrent_tasks",
                3));

    String sid = (String) dispatch("win-1", "work", "work").get("session_id");
    takeTask(dev, sid);
    assertThat(http.get("/api/devices/win-1").ok(200))
        .containsEntry("running_sessions", List.of(sid));

    assertThat(http.get("/api/devices/ghost").error(404)).contains("ghost");
    assertThat(http.get("/api/devices/con-1").error(404)).contains("con-1");
  }

  @Test
  void selectPicksTheDeviceSelectOptimalDevicePicks() throws Exception {
    Path cfg =
        deviceConfig(
            "devices:\n"
                + "  win-1:\n"
                + "    tags: [\"office\", \"gpu\"]\n"
                + "    max_concurrent_tasks: 1\n"
                + "  win-2:\n"
                + "    tags: [\"office\"]\n");
    start(b -> b.set(DEVICE_CONFIG, cfg));
    WsClient win1 = device("win-1", "windows", "gui", "office");
    device("win-2", "windows", "gui");
    device("lin-1", "linux", "gui", "docker");
    constellation("con-1");

    assertThat(http.get("/api/devices/select?platform=linux").ok(200))
        .isEqualTo(Map.of("device_id", "lin-1", "platform", "linux", "running_sessions", 0));
    assertThat(select("?capability=docker")).isEqualTo("lin-1");
    assertThat(select("?capability=office")).isEqualTo("win-1");
    assertThat(select("?capability=gui,docker")).isEqualTo("lin-1");
    assertThat(select("?capability=gui&capability=docker")).isEqualTo("lin-1");
    assertThat(select("?platform=WINDOWS&tag=gpu")).isEqualTo("win-1");
    assertThat(select("?tag=gpu")).isEqualTo("win-1");
    assertThat(select("?platform=windows")).isEqualTo("win-1"); // tie: longest connected
    assertThat(select("?platform=&capability=docker&tag=")).isEqualTo("lin-1"); // empty: any
    for (String q : List.of("", "?platform=windows", "?tag=office")) {
      assertThat(select(q))
          .as("query %s", q)
          .isEqualTo(
              hub.server()
                  .registry()
                  .selectOptimalDevice(
                      param(q, "platform"), params(q, "capability"), params(q, "tag"))
                  .orElseThrow());
    }

    // win-1 is at its limit of one task: it is no longer a candidate.
    takeTask(win1, (String) dispatch("win-1", "busy", "busy").get("session_id"));
    assertThat(select("?platform=windows&tag=gpu")).isEqualTo("win-2");
    String none = http.get("/api/devices/select?capability=office").error(404);
    assertThat(none).contains("office");
    assertThat(http.get("/api/devices/select?platform=macos").error(404)).contains("macos");
    assertThat(http.get("/api/devices/select?platform=linux&capability=office").error(404))
        .contains("linux");
    // Tags are preferences, not requirements; the reason still names them.
    assertThat(http.get("/api/devices/select?capability=office&tag=nowhere").error(404))
        .contains("tags=[nowhere]");
  }

  private String select(String query) {
    Map<String, Object> r = http.get("/api/devices/select" + query).ok(200);
    assertThat(r).containsOnlyKeys("device_id", "platform", "running_sessions");
    return (String) r.get("device_id");
  }

  private static String param(String query, String name) {
    List<String> all = params(query, name);
    return all.isEmpty() ? null : all.get(0);
  }

  private static List<String> params(String query, String name) {
    List<String> out = new ArrayList<>();
    for (String kv : query.replaceFirst("^\\?", "").split("&")) {
      if (kv.startsWith(name + "=")) {
        out.add(kv.substring(name.length() + 1));
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------- /api/stats

  @Test
  void statsHasRegistryStatsSessionCountersAndUptime() {
    start();
    WsClient dev = device("dev-1", "linux");
    constellation("con-1");

    String ok = (String) dispatch("dev-1", "a", "a").get("session_id");
    takeTask(dev, ok);
    dev.send(JsonFrames.taskEnd("dev-1", ok, "completed", "fine", null));
    String bad = (String) dispatch("dev-1", "b", "b").get("session_id");
    takeTask(dev, bad);
    dev.send(JsonFrames.taskEnd("dev-1", bad, "failed", null, "boom"));
    String running = (String) dispatch("dev-1", "c", "c").get("session_id");
    takeTask(dev, running);
    // A constellation that leaves with a running task: that session is cancelled.
    WsClient leaving = constellation("con-2");
    leaving.send(JsonFrames.task("con-2", "dev-1", "s-cancel", "t", "d"));
    assertThat(leaving.next().sessionId()).isEqualTo("s-cancel");
    takeTask(dev, "s-cancel");
    leaving.close();

    Map<String, Object> stats =
        await()
            .atMost(WAIT)
            .until(
                () -> http.get("/api/stats").ok(200),
                s -> Integer.valueOf(1).equals(sessions(s).get("cancelled")));
    assertThat(stats)
        .containsEntry("total", 2)
        .containsEntry("device_clients", 1)
        .containsEntry("constellation_clients", 1)
        .containsEntry("devices_by_platform", Map.of("linux", 1))
        .containsEntry("running_sessions", 1);
    assertThat(sessions(stats))
        .containsEntry("running", 1)
        .containsEntry("completed", 1)
        .containsEntry("failed", 1)
        .containsEntry("cancelled", 1);
    assertThat(stats.get("uptime_seconds")).isInstanceOf(Integer.class);
    assertThat((Integer) stats.get("uptime_seconds")).isNotNegative();
    OffsetDateTime.parse((String) stats.get("started_at"));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> sessions(Map<String, Object> stats) {
    return (Map<String, Object>) stats.get("sessions");
  }

  // ----------------------------------------------------------------------------- /api/sessions

  @Test
  void sessionsFilterByStateAndClientAndShowOneRecord() {
    start();
    WsClient dev1 = device("dev-1", "linux");
    WsClient dev2 = device("dev-2", "linux");
    WsClient con = constellation("con-1");

    String a = (String) dispatch("dev-1", "req a", "a").get("session_id");
    takeTask(dev1, a);
    dev1.send(JsonFrames.taskEnd("dev-1", a, "completed", Map.of("n", 1), null));
    awaitDone("a");
    String b = (String) dispatch("dev-2", "req b", "b").get("session_id");
    takeTask(dev2, b);
    con.send(JsonFrames.task("con-1", "dev-1", "con-sess-1", "galaxy/t/c", "req c"));
    assertThat(con.next().sessionId()).isEqualTo("con-sess-1");
    takeTask(dev1, "con-sess-1");

    assertThat(ids("")).containsExactly("con-sess-1", b, a);
    assertThat(http.get("/api/sessions").ok(200)).containsEntry("count", 3);
    assertThat(ids("?state=running")).containsExactly("con-sess-1", b);
    assertThat(ids("?state=completed")).containsExactly(a);
    assertThat(ids("?state=failed")).isEmpty();
    assertThat(ids("?client=dev-1")).containsExactly("con-sess-1", a);
    assertThat(ids("?client=con-1")).containsExactly("con-sess-1");
    assertThat(ids("?client=dev-2&state=running")).containsExactly(b);
    assertThat(ids("?client=nobody")).isEmpty();
    assertThat(ids("?limit=1")).containsExactly("con-sess-1");
    assertThat(ids("?limit=1000")).hasSize(3);

    // An empty filter means "any", as a form with an empty field sends it.
    assertThat(ids("?state=&client=")).containsExactly("con-sess-1", b, a);
    assertThat(ids("?state=running&client=")).containsExactly("con-sess-1", b);
    assertThat(ids("?client=%20&limit=")).hasSize(3);

    for (String q : List.of("?state=bogus", "?state=runnin")) {
      assertThat(http.get("/api/sessions" + q).error(400)).as(q).contains("state");
    }
    for (String q : List.of("?limit=0", "?limit=-3", "?limit=abc", "?limit=1001")) {
      assertThat(http.get("/api/sessions" + q).error(400)).as(q).contains("limit");
    }

    Map<String, Object> done = http.get("/api/sessions/" + a).ok(200);
    assertThat(done)
        .containsEntry("session_id", a)
        .containsEntry("state", "completed")
        .containsEntry("owner", null)
        .containsEntry("origin", "api")
        .containsEntry("device", "dev-1")
        .containsEntry("task_name", "a")
        .containsEntry("request", "req a")
        .containsEntry("result", Map.of("n", 1))
        .containsEntry("error", null)
        .containsEntry("held_for_owner", false);
    OffsetDateTime.parse((String) done.get("created_at"));
    OffsetDateTime.parse((String) done.get("ended_at"));
    assertThat(((Number) done.get("duration_ms")).longValue()).isNotNegative();

    Map<String, Object> owned = http.get("/api/sessions/con-sess-1").ok(200);
    assertThat(owned)
        .containsEntry("state", "running")
        .containsEntry("owner", "con-1")
        .containsEntry("origin", "constellation")
        .containsEntry("device", "dev-1")
        .containsEntry("task_name", "galaxy/t/c")
        .containsEntry("ended_at", null);

    assertThat(http.get("/api/sessions/no-such-session").error(404)).contains("no-such-session");
    assertThat(http.get("/api/sessions/bad%20id").error(400)).isNotBlank();
  }

  /**
   * The list shows summaries, never bodies: a request and a result come as previews of at most 200
   * characters (the request's length beside it), every field that was cut is named in {@code
   * truncated}, and the whole record is one route away. It comes in pages: {@code next} is the
   * cursor of the following page, passed back as {@code before}, null on the last one.
   */
  @Test
  @SuppressWarnings("unchecked")
  void theSessionListShowsSummariesInPagesAndTheRecordShowsTheBodies() {
    start();
    WsClient dev = device("dev-1", "linux");
    String longRequest = "r".repeat(1000);
    Map<String, Object> bigResult = Map.of("rows", "x".repeat(5000));
    List<String> finished = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String sid = (String) dispatch("dev-1", longRequest + i, "t" + i).get("session_id");
      takeTask(dev, sid);
      dev.send(JsonFrames.taskEnd("dev-1", sid, "completed", bigResult, null));
      awaitDone("t" + i);
      finished.add(0, sid);
    }
    String shortOne = (String) dispatch("dev-1", "short", "t5").get("session_id");
    takeTask(dev, shortOne);
    dev.send(JsonFrames.taskEnd("dev-1", shortOne, "completed", "fine", null));
    awaitDone("t5");
    finished.add(0, shortOne);

    Map<String, Object> first = http.get("/api/sessions?limit=1").ok(200);
    Map<String, Object> summary = ((List<Map<String, Object>>) first.get("sessions")).get(0);
    assertThat(summary)
        .containsOnlyKeys(
            "session_id",
            "run",
            "state",
            "owner",
            "origin",
            "device",
            "task_name",
            "created_at",
            "ended_at",
            "duration_ms",
            "error",
            "held_for_owner",
            "request_preview",
            "request_chars",
            "result_preview",
            "truncated")
        .containsEntry("session_id", shortOne)
        .containsEntry("request_preview", "short")
        .containsEntry("request_chars", 5)
        .containsEntry("result_preview", "fine")
        .containsEntry("truncated", List.of());

    List<String> paged = new ArrayList<>();
    String before = null;
    int pages = 0;
    do {
      Map<String, Object> page =
          http.get("/api/sessions?limit=2" + (before == null ? "" : "&before=" + before)).ok(200);
      pages++;
      for (Map<String, Object> s : (List<Map<String, Object>>) page.get("sessions")) {
        paged.add((String) s.get("session_id"));
        assertThat(s).doesNotContainKeys("request", "result");
        assertThat(HubHttp.write(s).length()).as("a summary's size").isLessThan(2_000);
        if (!s.get("session_id").equals(shortOne)) {
          String request = (String) s.get("request_preview");
          assertThat(request).hasSize(200).endsWith("\u2026").startsWith("rrrr");
          assertThat(s.get("request_chars")).isEqualTo(1001);
          assertThat((String) s.get("result_preview"))
              .hasSize(200)
              .startsWith("{\"rows\":\"xxx")
              .endsWith("\u2026");
          assertThat((List<String>) s.get("truncated")).containsExactly("request", "result");
        }
      }
      assertThat(page.get("count")).isEqualTo(((List<?>) page.get("sessions")).size());
      before = (String) page.get("next");
    } while (before != null);
    assertThat(pages).isEqualTo(3);
    assertThat(paged).isEqualTo(finished).isEqualTo(ids("?limit=1000"));
    assertThat(http.get("/api/sessions?limit=1000").ok(200)).containsEntry("next", null);
    // Filters and the cursor combine: the page after the newest completed one.
    String second = finished.get(1);
    assertThat(ids("?state=completed&limit=1&before=" + cursorAfter(shortOne)))
        .containsExactly(second);
    for (String bad : List.of("x", "1-", "-1-2", "1-2-3", "99999999999999999999-1", "1.5-2")) {
      assertThat(http.get("/api/sessions?before=" + bad).error(400)).as(bad).contains("before");
    }

    // The record of one session has it all.
    Map<String, Object> whole = http.get("/api/sessions/" + finished.get(1)).ok(200);
    assertThat(whole).containsEntry("request", longRequest + 4).containsEntry("result", bigResult);
  }

  /** The cursor that lists what comes after session {@code id}. */
  private String cursorAfter(String id) {
    Map<String, Object> page = http.get("/api/sessions?limit=1").ok(200);
    assertThat(((List<?>) page.get("sessions"))).hasSize(1);
    assertThat(HubHttp.write(page)).contains(id);
    return (String) page.get("next");
  }

  @SuppressWarnings("unchecked")
  private List<String> ids(String query) {
    Map<String, Object> r = http.get("/api/sessions" + query).ok(200);
    List<Map<String, Object>> list = (List<Map<String, Object>>) r.get("sessions");
    assertThat(r.get("count")).isEqualTo(list.size());
    List<String> ids = new ArrayList<>();
    list.forEach(s -> ids.add((String) s.get("session_id")));
    return ids;
  }

  // --------------------------------------------------------------------------- /metrics, /healthz

  @Test
  void metricsIsPrometheusTextBehindTheKey() {
    start();
    Reply m = http.get("/metrics");
    assertThat(m.status()).isEqualTo(200);
    assertThat(m.contentType()).startsWith("text/plain");
    assertThat(PrometheusText.named(PrometheusText.parse(m.body()), "hub_sessions_running"))
        .hasSize(1);
    Reply bearer =
        http.send(http.bare("/metrics").header("Authorization", "Bearer " + TestHub.KEY));
    assertThat(bearer.status()).isEqualTo(200);

    assertThat(http.send(http.bare("/metrics")).error(401)).contains("API key");
  }

  @Test
  void healthzAnswersOkWithoutAKey() {
    start();
    Reply r = http.send(http.bare("/healthz"));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("ok");
    assertThat(r.contentType()).startsWith("text/plain");
    Reply wrongKey = http.send(http.bare("/healthz").header("X-API-Key", "wrong"));
    assertThat(wrongKey.status()).isEqualTo(200);
    assertThat(wrongKey.body()).isEqualTo("ok");
  }

  // ------------------------------------------------------------------------------------- errors

  /** Every keyed route, as (method, path, body). */
  private static List<String[]> keyedRoutes() {
    return List.of(
        new String[] {"GET", "/api/health", null},
        new String[] {"GET", "/api/clients", null},
        new String[] {"POST", "/api/dispatch", "{\"client_id\":\"dev-1\",\"request\":\"x\"}"},
        new String[] {"GET", "/api/task_result/some-task", null},
        new String[] {"GET", "/api/devices", null},
        new String[] {"GET", "/api/devices/dev-1", null},
        new String[] {"GET", "/api/devices/select", null},
        new String[] {"GET", "/api/stats", null},
        new String[] {"GET", "/api/sessions", null},
        new String[] {"GET", "/api/sessions/some-session", null},
        new String[] {"POST", "/api/admin/reload-devices", ""},
        new String[] {"GET", "/api/no-such-route", null},
        new String[] {"GET", "/metrics", null});
  }

  private static HttpRequest.Builder withMethod(HttpRequest.Builder b, String method, String body) {
    return b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
  }

  @Test
  void everyKeyedRouteIs401WithoutTheRightKeyAndAcceptsBothKeyHeaders() {
    start();
    WsClient dev = device("dev-1", "linux");
    String basic =
        "Basic "
            + Base64.getEncoder()
                .encodeToString(("user:" + TestHub.KEY).getBytes(StandardCharsets.UTF_8));
    String almost = TestHub.KEY.substring(0, TestHub.KEY.length() - 1);
    for (String[] route : keyedRoutes()) {
      String method = route[0];
      String path = route[1];
      List<Reply> refused =
          List.of(
              http.send(withMethod(http.bare(path), method, route[2])),
              http.send(withMethod(http.bare(path), method, route[2]).header("X-API-Key", "nope")),
              http.send(withMethod(http.bare(path), method, route[2]).header("X-API-Key", almost)),
              http.send(
                  withMethod(http.bare(path), method, route[2])
                      .header("X-API-Key", TestHub.KEY + "x")),
              http.send(
                  withMethod(http.bare(path), method, route[2])
                      .header("Authorization", "Bearer nope")),
              http.send(
                  withMethod(http.bare(path), method, route[2]).header("Authorization", basic)),
              http.send(
                  withMethod(http.bare(path), method, route[2])
                      .header("Authorization", TestHub.KEY)));
      for (Reply r : refused) {
        assertThat(r.error(401)).as("%s", r).contains("API key");
        assertThat(r.headers().firstValue("www-authenticate")).as("%s", r).hasValue("Bearer");
      }
      Reply viaHeader =
          http.send(withMethod(http.bare(path), method, route[2]).header("X-API-Key", TestHub.KEY));
      Reply viaBearer =
          http.send(
              withMethod(http.bare(path), method, route[2])
                  .header("Authorization", "Bearer " + TestHub.KEY));
      for (Reply r : List.of(viaHeader, viaBearer)) {
        assertThat(r.status()).as("%s", r).isNotEqualTo(401);
      }
    }
    // Of all those dispatch requests, only the two with the right key reached the device.
    Map<String, Object> last = dispatch("dev-1", "last", "last");
    List<ServerMessage> tasks = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      tasks.add(dev.next());
    }
    assertThat(tasks).extracting(ServerMessage::type).containsOnly(ServerMessageType.TASK);
    assertThat(tasks.get(2).sessionId()).isEqualTo(last.get("session_id"));
    assertThat(hub.server().sessions().counts().running()).isEqualTo(3);
  }

  @Test
  void pagesOfAnAllowedOriginGetCorsHeadersAndAPreflightWithoutAKey() {
    String dash = "https://dash.example.com";
    start(b -> b.set(ALLOWED_ORIGINS, List.of(dash)));

    HubHttp.Reply preflight =
        http.send(
            http.bare("/api/dispatch")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", dash)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "x-api-key, content-type"));
    assertThat(preflight.status()).isEqualTo(204);
    assertThat(preflight.body()).isEmpty();
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).contains(dash);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods"))
        .contains("GET, POST");
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Headers").orElseThrow())
        .contains("X-API-Key", "Authorization", "Content-Type");
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
    assertThat(preflight.headers().firstValue("Content-Length")).isEmpty();

    HubHttp.Reply keyed = http.send(http.keyed("/api/clients").header("Origin", dash).GET());
    assertThat(keyed.ok(200)).containsKey("online_clients");
    assertThat(keyed.headers().firstValue("Access-Control-Allow-Origin")).contains(dash);
    assertThat(keyed.headers().allValues("Vary")).contains("Origin");

    // A wrong key stays a 401, readable by the page so it can say so.
    HubHttp.Reply unkeyed = http.send(http.bare("/api/clients").header("Origin", dash).GET());
    assertThat(unkeyed.error(401)).contains("API key");
    assertThat(unkeyed.headers().firstValue("Access-Control-Allow-Origin")).contains(dash);

    // Another origin gets neither a preflight nor headers: a 403 JSON refusal.
    for (String method : List.of("OPTIONS", "GET")) {
      HubHttp.Reply other =
          http.send(
              http.keyed("/api/clients")
                  .method(method, HttpRequest.BodyPublishers.noBody())
                  .header("Origin", "https://evil.example.com")
                  .header("Access-Control-Request-Method", "GET"));
      assertThat(other.error(403)).as(method).contains("evil.example.com");
      assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).as(method).isEmpty();
    }
    // Without an Origin (scripts, devices) nothing changes, and OPTIONS is not a route.
    HubHttp.Reply script = http.get("/api/clients");
    assertThat(script.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    assertThat(
            http.send(
                    http.keyed("/api/clients")
                        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()))
                .error(405))
        .contains("GET");
  }

  @Test
  void unknownRoutesAre404Json() {
    start();
    // "/" is the dashboard (DashboardBrowserTest); "/index.htm" and "/dashboard" are not routes.
    for (String path :
        List.of(
            "/api/nope",
            "/index.htm",
            "/dashboard",
            "/api",
            "/api/",
            "/api/health/extra",
            "/nope",
            "/api/DEVICES")) {
      assertThat(http.get(path).error(404)).as(path).isNotBlank();
    }
    assertThat(http.get("/api/nope").error(404)).contains("/api/nope");
    assertThat(http.post("/nope", "{}").error(404)).isNotBlank();
  }

  @Test
  void malformedRequestsAre400AndTheNextRequestIsStillAnswered() {
    start();
    // A header over the decoder's limit, then a line over it: each a JSON 400 that closes the
    // connection, since the decoder ignores the rest of it. The same client's next request
    // (which would reuse a kept-alive connection) is answered.
    List<HttpRequest.Builder> malformed =
        List.of(
            http.keyed("/api/health").header("X-Big", "v".repeat(20_000)),
            http.keyed("/api/health?q=" + "v".repeat(20_000)));
    for (HttpRequest.Builder bad : malformed) {
      Reply r = http.send(bad);
      assertThat(r.error(400)).contains("malformed");
      assertThat(r.headers().firstValue("connection")).hasValue("close");
      Reply next = http.send(http.keyed("/api/health").timeout(Duration.ofSeconds(5)));
      assertThat(next.ok(200)).containsEntry("status", "healthy");
    }
  }

  @Test
  void wrongMethodsAre405WithAnAllowHeader() {
    start();
    // Every GET route answers HEAD too, and says so.
    List<String[]> cases =
        List.of(
            new String[] {"POST", "/api/health", "GET, HEAD"},
            new String[] {"DELETE", "/api/clients", "GET, HEAD"},
            new String[] {"GET", "/api/dispatch", "POST"},
            new String[] {"PUT", "/api/dispatch", "POST"},
            new String[] {"GET", "/api/admin/reload-devices", "POST"},
            new String[] {"POST", "/api/task_result/x", "GET, HEAD"},
            new String[] {"POST", "/api/devices", "GET, HEAD"},
            new String[] {"DELETE", "/api/devices/x", "GET, HEAD"},
            new String[] {"PUT", "/api/devices/select", "GET, HEAD"},
            new String[] {"POST", "/api/stats", "GET, HEAD"},
            new String[] {"PATCH", "/api/sessions", "GET, HEAD"},
            new String[] {"DELETE", "/api/sessions/x", "GET, HEAD"},
            new String[] {"POST", "/metrics", "GET, HEAD"});
    for (String[] c : cases) {
      Reply r = http.send(withMethod(http.keyed(c[1]), c[0], "{}"));
      assertThat(r.error(405)).as("%s", r).contains(c[0]);
      assertThat(r.headers().firstValue("allow")).as("%s", r).hasValue(c[2]);
    }
    Reply healthz = http.send(withMethod(http.bare("/healthz"), "POST", ""));
    assertThat(healthz.error(405)).isNotBlank();
    assertThat(healthz.headers().firstValue("allow")).hasValue("GET, HEAD");
  }

  @Test
  void bodiesOverMaxBodyBytesAre413WithAndWithoutExpectContinue() throws Exception {
    start(b -> b.set(MAX_BODY_BYTES, 4096));
    WsClient dev = device("dev-1", "linux");
    byte[] big =
        HubHttp.write(Map.of("client_id", "dev-1", "request", "x".repeat(5000)))
            .getBytes(StandardCharsets.UTF_8);
    byte[] huge =
        HubHttp.write(Map.of("client_id", "dev-1", "request", "x".repeat(100_000)))
            .getBytes(StandardCharsets.UTF_8);
    // Still being sent when the 413 goes out: a hub that then just closes resets the connection
    // and the client loses the answer.
    byte[] giant =
        HubHttp.write(Map.of("client_id", "dev-1", "request", "x".repeat(4_000_000)))
            .getBytes(StandardCharsets.UTF_8);

    for (byte[] body : List.of(big, huge, giant)) {
      Reply plain =
          http.send(
              http.keyed("/api/dispatch")
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
      assertThat(plain.error(413)).contains("max_body_bytes").contains("4096");

      // No declared length (chunked): the limit still holds.
      Reply chunked =
          http.send(
              http.keyed("/api/dispatch")
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofInputStream(
                          () -> new ByteArrayInputStream(body))));
      assertThat(chunked.error(413)).contains("max_body_bytes");

      // Expect: 100-continue (by hand: JDK 17's client hangs on a final answer to it). The
      // declared length is over the limit: a JSON 413 instead of the 100, the body never sent.
      RawHttp.Exchange expecting = RawHttp.post(hub.port(), "/api/dispatch", body, true);
      assertThat(expecting.interim()).isEmpty();
      assertThat(expecting.bodySent()).isFalse();
      assertRaw413(expecting.last());

      RawHttp.Exchange raw = RawHttp.post(hub.port(), "/api/dispatch", body, false);
      assertRaw413(raw.last());
    }

    // An expectation the hub does not know: a JSON 417, the body never asked for.
    RawHttp.Exchange unknown = RawHttp.post(hub.port(), "/api/dispatch", big, "something-else");
    assertThat(unknown.last().status()).as("%s", unknown).isEqualTo(417);
    assertThat(unknown.last().headers().get("content-type")).startsWith("application/json");
    assertThat(HubHttp.object(unknown.last().body())).containsOnlyKeys("error");
    assertThat(unknown.bodySent()).isFalse();

    // A body under the limit goes through, with and without Expect: 100-continue, and nothing
    // refused above reached the device.
    byte[] fits =
        HubHttp.write(Map.of("client_id", "dev-1", "request", "y".repeat(3000)))
            .getBytes(StandardCharsets.UTF_8);
    RawHttp.Exchange continued = RawHttp.post(hub.port(), "/api/dispatch", fits, true);
    assertThat(continued.interim()).extracting(RawHttp.Response::status).containsExactly(100);
    assertThat(continued.last().status()).as("%s", continued).isEqualTo(200);
    Map<String, Object> first = HubHttp.object(continued.last().body());
    assertThat(first).containsEntry("status", "dispatched");
    assertThat(takeTask(dev, (String) first.get("session_id")).userRequest())
        .isEqualTo("y".repeat(3000));
    Map<String, Object> second =
        http.post("/api/dispatch", new String(fits, StandardCharsets.UTF_8)).ok(200);
    takeTask(dev, (String) second.get("session_id"));
    assertThat(hub.server().sessions().counts().running()).isEqualTo(2);
  }

  private static void assertRaw413(RawHttp.Response r) {
    assertThat(r.status()).as("%s", r).isEqualTo(413);
    assertThat(r.headers().get("content-type")).as("%s", r).startsWith("application/json");
    assertThat(HubHttp.object(r.body()))
        .as("%s", r)
        .containsOnlyKeys("error")
        .extractingByKey("error", org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .contains("max_body_bytes");
  }
}
