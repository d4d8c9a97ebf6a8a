package org.aiphub.server.dashboard;

import static org.aiphub.server.config.Settings.ADMIN_KEY;
import static org.aiphub.server.config.Settings.DEFAULT_MAX_CONCURRENT_TASKS;
import static org.aiphub.server.config.Settings.PORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.http.DashboardAssets;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser: Debian's headless Chromium driven by its own chromedriver (no
 * browser download, Selenium Manager never runs). A hub with three devices, a constellation and
 * finished and running sessions; the page must ask for the key (and show nothing for a wrong one),
 * show the fleet, follow running counts and a disconnect live, show a device's system info, and
 * render every client-supplied string as text. Skipped when Chromium is not installed, unless
 * {@code HUB_REQUIRE_BROWSER=1} (CI) makes that a failure.
 *
 * <p>Script injection: the issue asks that a device <em>named</em> {@code <img src=x
 * onerror=alert(1)>} show those characters. The hub never lets such a name in: client ids (and
 * session ids) are limited to letters, digits and {@code . _ - : @ / + = # ~} ({@code ClientIds}),
 * so that registration is refused, and the test checks the refusal and that the name appears
 * nowhere in the page. A constellation's declared target must be a connected device's id, so it is
 * restricted the same way. Every string a client may choose freely carries an injection instead: a
 * device's platform, tags, tier, capabilities, and system-info keys and values (shown in the device
 * detail view), and a session's task name, request, error and result.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  /**
   * The injection string: refused as a client id, so it goes in a device tag and a session
   * error instead.
   */
  private static final String XSS = "<img src=x onerror=alert(1)>";

  /**
   * Injections that would leave a trace instead of a dialog, were they ever run; each in a
   * different client-supplied field (see {@link #markup()} for the elements they would create).
   */
  private static final String XSS_FLAG = "<img src=x onerror=\"window.__xss=1\">";

  private static final String XSS_SCRIPT = "<script>window.__xss=2</script>";
  private static final String XSS_PLATFORM = "<svg onload=\"window.__xss=3\"></svg>";
  private static final String XSS_TIER = "<iframe srcdoc=\"<script>parent.__xss=4</script>\">";
  private static final String XSS_INFO_KEY = "<b onmouseover=\"window.__xss=5\">key</b>";
  private static final String XSS_INFO_VALUE = "<img src=x onerror=window.__xss=6>";
  private static final String XSS_RESULT = "<img src=x onerror=window.__xss=7>";

  private static final String LINUX = "lab-linux-01";
  private static final String WINDOWS = "office-win-02";
  private static final String KIOSK = "kiosk-03";
  private static final String GALAXY = "weekly_report@lab-linux-01";

  /** Runs in every page before its own scripts: records script errors and CSP violations. */
  private static final String WATCHERS =
      "window.__errors = []; window.__csp = [];"
          + "window.addEventListener('error', e => window.__errors.push(String(e.message)));"
          + "document.addEventListener('securitypolicyviolation',"
          + " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));";

  private final List<WsClient> clients = new ArrayList<>();
  private TestHub hub;
  private ChromeDriver driver;

  @AfterEach
  void stop() {
    try {
      if (driver != null) {
        driver.quit();
      }
    } finally {
      for (WsClient c : clients) {
        c.close();
      }
      if (hub != null) {
        hub.close();
      }
    }
  }

  @Test
  void pageIsPublicWithAStrictPolicyButTheFeedNeedsTheKey() {
    hub = TestHub.start();
    HubHttp http = new HubHttp(hub);
    for (String path : List.of("/", "/index.html", "/dashboard.js", "/dashboard.css")) {
      HubHttp.Reply r = http.send(http.bare(path).GET());
      assertThat(r.status()).as("%s", r).isEqualTo(200);
      assertThat(r.headers().firstValue("content-security-policy")).contains(DashboardAssets.CSP);
    }
    assertThat(DashboardAssets.CSP)
        .as("a strict policy: own scripts and styles only, never inline code or eval")
        .contains("default-src 'none'", "script-src 'self'", "style-src 'self'")
        .contains("base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'")
        .doesNotContain("unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "http:", "https:");
    String js = http.send(http.bare("/dashboard.js").GET()).body().replaceAll("(?m)^\\s*//.*$", "");
    assertThat(js)
        .as("data reaches the page as text only: no HTML sink, no code from strings")
        .doesNotContain(
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "createContextualFragment",
            "DOMParser",
            "eval(",
            "new Function",
            "setAttribute(");
    HubHttp.Reply page = http.send(http.bare("/").GET());
    assertThat(page.body())
        .as("no inline script or style: the CSP would block them")
        .doesNotContain("<script>", "<style", "style=")
        .doesNotContainPattern("\\son[a-z]+\\s*=");
    assertThat(http.send(http.bare("/api/events").GET()).status()).isEqualTo(401);
  }

  /**
   * On a hub with an operator key the page asks for that key: the client key, which every device
   * holds, is refused in the prompt with the hub's reason, and nothing is shown; the operator key
   * opens the dashboard.
   */
  @Test
  @Timeout(120)
  void withAnOperatorKeyThePageTakesItAndRefusesTheClientKey(@TempDir Path profile)
      throws IOException {
    requireBrowser();
    hub = TestHub.start(b -> b.set(ADMIN_KEY, TestHub.ADMIN_KEY));
    register(device(LINUX, "linux", List.of("gpu"), List.of("cli"), null));
    driver = chromium(profile);
    driver.get(hub.http("/").toString());

    waitFor("the key prompt", d -> d.findElement(By.id("key-input")).isDisplayed());
    assertThat(driver.findElement(By.cssSelector("label[for=key-input]")).getText())
        .isEqualTo("Operator key");
    enterKey(TestHub.KEY);
    waitFor("the client key refused", d -> d.findElement(By.id("key-error")).isDisplayed());
    assertThat(driver.findElement(By.id("key-error")).getText())
        .contains("refused", "operator key (admin_key)");
    assertThat(driver.findElement(By.id("app")).isDisplayed()).isFalse();
    assertThat(driver.findElement(By.tagName("body")).getText()).doesNotContain(LINUX);
    assertThat(script("return sessionStorage.length")).isEqualTo(0L);

    enterKey(TestHub.ADMIN_KEY);
    waitFor("the device", d -> ids("devices").equals(List.of(LINUX)));
    assertThat(script("return sessionStorage.getItem('aiphub.apiKey')"))
        .isEqualTo(TestHub.ADMIN_KEY);
  }

  @Test
  @Timeout(180)
  void showsTheFleetLiveAndRendersClientStringsAsText(@TempDir Path profile) throws IOException {
    requireBrowser();
    hub = TestHub.start(b -> b.set(DEFAULT_MAX_CONCURRENT_TASKS, 4));

    WsClient linux =
        register(
            device(
                LINUX,
                "linux",
                List.of("gpu", XSS),
                List.of("cli", "gpu_compute", XSS_FLAG),
                "gpu-large"));
    WsClient windows =
        register(device(WINDOWS, "windows", List.of("office"), List.of("gui", "browser"), null));
    ObjectNode kiosk = device(KIOSK, XSS_PLATFORM, List.of("kiosk"), List.of("touch"), XSS_TIER);
    ((ObjectNode) kiosk.at("/metadata/system_info")).put(XSS_INFO_KEY, XSS_INFO_VALUE);
    register(kiosk);
    WsClient galaxy = register(constellation(GALAXY, LINUX));

    // The device name is not a client id the hub accepts: refused at registration, it
    // never reaches the registry, so the page cannot show it (checked below).
    WsClient named = hub.connect();
    clients.add(named);
    named.send(device(XSS, "linux", List.of("named"), List.of("cli"), null).toString());
    ServerMessage refusal = named.next();
    assertThat(refusal.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(refusal.error())
        .startsWith("client_id ")
        .contains("holds a character outside letters, digits");
    assertThat(named.awaitClose()).isEqualTo(1008);
    assertThat(hub.server().registry().isOnline(XSS)).isFalse();

    // One task completes, one fails with an injection for its error; one API task keeps running.
    ObjectNode done =
        runTask(
            galaxy, linux, "weekly_report@task_1", "galaxy/weekly/fill_sheet", "Open sales.xlsx");
    done.put("status", "completed")
        .set(
            "result",
            JSON.createObjectNode()
                .put("total", 18250.5)
                .put("sheet", "Q3")
                .put("note", XSS_RESULT));
    linux.send(done.toString());
    ObjectNode failed =
        runTask(galaxy, linux, "weekly_report@task_2", XSS_SCRIPT, "<b>bold</b> & \"quoted\"");
    failed.put("status", "failed").put("error", XSS);
    linux.send(failed.toString());
    HubHttp http = new HubHttp(hub);
    String running =
        (String)
            http.post(
                    "/api/dispatch",
                    Map.of(
                        "client_id", WINDOWS,
                        "request", "Export the nightly report",
                        "task_name", "nightly-report"))
                .ok(200)
                .get("session_id");
    assertThat(windows.next(m -> m.type() == ServerMessageType.TASK).sessionId())
        .isEqualTo(running);
    await()
        .atMost(WAIT)
        .until(
            () ->
                hub.server().sessions().counts().completed() == 1
                    && hub.server().sessions().counts().failed() == 1);

    driver = chromium(profile);
    driver.executeCdpCommand(
        "Page.addScriptToEvaluateOnNewDocument", Map.<String, Object>of("source", WATCHERS));
    driver.get(hub.http("/").toString());

    // Before the key: the prompt and nothing else; a wrong key is refused in the prompt.
    waitFor("the key prompt", d -> d.findElement(By.id("key-input")).isDisplayed());
    assertThat(driver.findElement(By.id("app")).isDisplayed()).isFalse();
    enterKey("not-the-key");
    waitFor("the wrong-key error", d -> d.findElement(By.id("key-error")).isDisplayed());
    assertThat(driver.findElement(By.id("key-error")).getText()).contains("refused");
    assertThat(driver.findElement(By.id("app")).isDisplayed()).isFalse();
    assertThat(driver.findElement(By.tagName("body")).getText())
        .doesNotContain(LINUX, WINDOWS, KIOSK, GALAXY, "weekly_report@task_1");
    assertThat(script("return sessionStorage.length + localStorage.length")).isEqualTo(0L);

    // The right key: everything appears.
    enterKey(TestHub.KEY);
    waitFor("the three devices", d -> ids("devices").equals(List.of(KIOSK, LINUX, WINDOWS)));
    assertThat(driver.findElement(By.id("login")).isDisplayed()).isFalse();
    assertThat(script("return sessionStorage.getItem('aiphub.apiKey')")).isEqualTo(TestHub.KEY);
    assertThat(script("return localStorage.length")).isEqualTo(0L);

    Map<String, String> devices = rows("devices");
    assertThat(devices.get(LINUX))
        .contains("linux", "gpu", XSS, "gpu_compute", XSS_FLAG, "gpu-large", "0 / 4");
    assertThat(devices.get(WINDOWS)).contains("windows", "office", "browser", "1 / 4");
    assertThat(devices.get(KIOSK)).contains(XSS_PLATFORM, "kiosk", XSS_TIER, "touch", "0 / 4");

    waitFor("the constellation", d -> ids("constellations").equals(List.of(GALAXY)));
    assertThat(ids("devices")).as("the refused name").doesNotContain(XSS);
    assertThat(ids("constellations")).as("the refused name").doesNotContain(XSS);
    assertThat(
            (List<?>)
                script(
                    "return Array.from(document.querySelectorAll('#app button, #app td.id'))"
                        + ".map(e => e.textContent)"))
        .as("ids shown on the page")
        .noneMatch(XSS::equals);
    assertThat(rows("constellations").get(GALAXY)).contains(LINUX + "\t2\t0\t");

    waitFor("three sessions", d -> rows("sessions").size() == 3);
    Map<String, String> sessions = rows("sessions");
    assertThat(sessions.get("weekly_report@task_1"))
        .startsWith("completed")
        .contains("galaxy/weekly/fill_sheet", GALAXY, LINUX, "18250.5", XSS_RESULT);
    assertThat(sessions.get("weekly_report@task_2"))
        .startsWith("failed")
        .contains(XSS_SCRIPT, "<b>bold</b> & \"quoted\"", XSS, LINUX);
    assertThat(sessions.get(running))
        .startsWith("running")
        .contains("nightly-report", "HTTP API", WINDOWS, "Export the nightly report");
    Map<String, String> expectedTotals = new LinkedHashMap<>();
    expectedTotals.put("devices", "3");
    expectedTotals.put("constellations", "1");
    expectedTotals.put("running", "1");
    expectedTotals.put("completed", "1");
    expectedTotals.put("failed", "1");
    expectedTotals.put("cancelled", "0");
    waitFor("the totals", d -> totals().equals(expectedTotals));

    // Filters: platform, tag, capability; session state.
    filter("filter-platform", "windows", "devices", List.of(WINDOWS));
    filter("filter-platform", XSS_PLATFORM, "devices", List.of(KIOSK));
    filter("filter-tag", XSS, "devices", List.of(LINUX));
    filter("filter-feature", "browser", "devices", List.of(WINDOWS));
    filter("filter-state", "failed", "sessions", List.of("weekly_report@task_2"));

    // Running counts follow a session live, without a reload: up when it starts, and back down
    // when it ends, on the device's row and on its owner constellation's row alike.
    script("window.__samePage = 'yes'");
    ObjectNode live =
        runTask(galaxy, linux, "weekly_report@task_3", "galaxy/weekly/refresh", "Refresh Q3");
    waitFor("task 3 running", d -> rows("sessions").containsKey("weekly_report@task_3"));
    waitFor(
        "the constellation running one",
        d -> rows("constellations").get(GALAXY).contains(LINUX + "\t3\t1\t"));
    waitFor("the device running one", d -> rows("devices").get(LINUX).contains("1 / 4"));
    live.put("status", "completed");
    linux.send(live.toString());
    waitFor(
        "task 3 completed",
        d -> rows("sessions").get("weekly_report@task_3").startsWith("completed"));
    waitFor(
        "the constellation running none",
        d -> rows("constellations").get(GALAXY).contains(LINUX + "\t3\t0\t"));
    waitFor("the device running none", d -> rows("devices").get(LINUX).contains("0 / 4"));

    // A finished session id used again is a second run: a row of its own, live, while the first
    // run keeps its row and state (rows are per run, not per id).
    ObjectNode again =
        runTask(galaxy, linux, "weekly_report@task_3", "galaxy/weekly/refresh", "Refresh Q4");
    waitFor(
        "two runs of task 3",
        d -> runs("weekly_report@task_3").equals(List.of("running", "completed")));
    again.put("status", "failed").put("error", "the second run failed");
    linux.send(again.toString());
    waitFor(
        "both runs of task 3 ended",
        d -> runs("weekly_report@task_3").equals(List.of("failed", "completed")));
    assertThat(
            (List<?>)
                script(
                    "return Array.from(document.querySelectorAll('#sessions tbody tr'))"
                        + ".filter(tr => tr.dataset.id === arguments[0])"
                        + ".map(tr => tr.innerText)",
                    "weekly_report@task_3"))
        .satisfiesExactly(
            second -> assertThat((String) second).contains("Refresh Q4", "the second run failed"),
            first -> assertThat((String) first).contains("Refresh Q3").doesNotContain("second"));

    // A disconnect shows up without a reload; its running session fails with it.
    windows.close();
    waitFor("the windows device gone", d -> ids("devices").equals(List.of(KIOSK, LINUX)));
    waitFor("its session failed", d -> rows("sessions").get(running).startsWith("failed"));
    waitFor("the totals after the disconnect", d -> "2".equals(totals().get("devices")));
    assertThat(script("return window.__samePage")).isEqualTo("yes");

    // The chart has drawn the samples.
    waitFor(
        "the chart",
        d -> ((Number) script("return Number($('chart').dataset.points)")).intValue() >= 2);
    assertThat(
            script(
                "const c = $('chart');"
                    + "const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                    + "for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;"
                    + "return false;"))
        .isEqualTo(true);

    // Clicking a device shows its full merged system info, as text.
    driver.findElement(By.cssSelector("#devices tbody tr[data-id='" + LINUX + "'] button")).click();
    waitFor(
        "the system info",
        d -> String.valueOf(script("return $('detail-json').textContent")).contains("system_info"));
    JsonNode info = JSON.readTree((String) script("return $('detail-json').textContent"));
    assertThat(info.get("device_id").asText()).isEqualTo(LINUX);
    assertThat(texts(info.at("/system_info/tags"))).containsExactly("gpu", XSS);
    assertThat(texts(info.at("/system_info/supported_features"))).contains(XSS_FLAG);
    assertThat(driver.findElement(By.id("detail-id")).getText()).isEqualTo(LINUX);

    // The kiosk reported injections as its platform, its tier and a system-info key and value.
    driver.findElement(By.cssSelector("#devices tbody tr[data-id='" + KIOSK + "'] button")).click();
    waitFor(
        "the kiosk's system info",
        d ->
            KIOSK.equals(d.findElement(By.id("detail-id")).getText())
                && String.valueOf(script("return $('detail-json').textContent"))
                    .contains(XSS_INFO_VALUE));
    JsonNode kioskInfo = JSON.readTree((String) script("return $('detail-json').textContent"));
    assertThat(kioskInfo.get("system_info").get(XSS_INFO_KEY).asText()).isEqualTo(XSS_INFO_VALUE);
    assertThat(kioskInfo.at("/system_info/platform").asText()).isEqualTo(XSS_PLATFORM);
    assertThat(kioskInfo.at("/system_info/custom_metadata/tier").asText()).isEqualTo(XSS_TIER);
    assertThat(script("return $('detail-json').childElementCount")).isEqualTo(0L);

    // Nothing client-supplied became markup or code, and the page broke none of its own rules.
    assertThat(markup()).as("elements an injection would have created").isEqualTo(0L);
    assertThat(script("return typeof window.__xss")).isEqualTo("undefined");
    assertThatThrownBy(() -> driver.switchTo().alert()).isInstanceOf(NoAlertPresentException.class);
    assertThat((List<?>) script("return window.__errors")).isEmpty();
    assertThat((List<?>) script("return window.__csp")).isEmpty();

    screenshot();

    // The feed survives a hub restart: the page reconnects by itself and starts from a snapshot.
    int port = hub.port();
    hub.close();
    hub = TestHub.start(b -> b.set(PORT, port));
    register(device("lab-linux-03", "linux", List.of("fresh"), List.of("cli"), null));
    waitFor("the fleet after a restart", d -> ids("devices").equals(List.of("lab-linux-03")));
    waitFor(
        "the feed live again", d -> "live".equals(d.findElement(By.id("feed-status")).getText()));
    assertThat(rows("sessions")).isEmpty();
    assertThat(script("return window.__samePage")).isEqualTo("yes");
    assertThat((List<?>) script("return window.__errors")).isEmpty();
  }

  /** How many elements of the kinds the injections would create are in the page (none belong). */
  private Object markup() {
    return script(
        "return document.querySelectorAll('img, svg, iframe, b, script:not([src])').length");
  }

  // ------------------------------------------------------------------------------ browser

  private static void requireBrowser() {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    String why =
        "headless browser test needs Debian's chromium and chromium-driver ("
            + CHROMIUM
            + ", "
            + CHROMEDRIVER
            + "): apt-get install -y chromium chromium-driver";
    if (!present && "1".equals(System.getenv("HUB_REQUIRE_BROWSER"))) {
      throw new AssertionError("HUB_REQUIRE_BROWSER=1 but " + why);
    }
    Assumptions.assumeTrue(present, "skipped: " + why);
  }

  private static ChromeDriver chromium(Path profile) {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toString());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--disable-extensions",
        "--user-data-dir=" + profile.toAbsolutePath(),
        "--window-size=1400,1000");
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  private Object script(String js, Object... args) {
    String helpers = "const $ = (id) => document.getElementById(id);";
    return ((JavascriptExecutor) driver).executeScript(helpers + js, args);
  }

  private <T> T waitFor(String what, Function<WebDriver, T> condition) {
    return new WebDriverWait(driver, WAIT)
        .withMessage(what)
        .ignoring(StaleElementReferenceException.class)
        .until(condition::apply);
  }

  private void enterKey(String key) {
    WebElement input = driver.findElement(By.id("key-input"));
    input.clear();
    input.sendKeys(key);
    driver.findElement(By.id("key-submit")).click();
  }

  /** A table's rows as {@code data-id -> the row's visible text} (cells separated by tabs). */
  private Map<String, String> rows(String table) {
    Object raw =
        script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
                + ".map(tr => [tr.dataset.id, tr.innerText]);",
            table);
    Map<String, String> out = new LinkedHashMap<>();
    for (Object row : (List<?>) raw) {
      List<?> pair = (List<?>) row;
      out.put((String) pair.get(0), (String) pair.get(1));
    }
    return out;
  }

  /** The state shown by each row of session id {@code id}, one per run, in the page's order. */
  private List<String> runs(String id) {
    Object raw =
        script(
            "return Array.from(document.querySelectorAll('#sessions tbody tr'))"
                + ".filter(tr => tr.dataset.id === arguments[0])"
                + ".map(tr => tr.cells[0].firstChild.textContent);",
            id);
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) raw) {
      out.add((String) o);
    }
    return out;
  }

  /** The {@code data-id}s of a table's rows, in order. */
  private List<String> ids(String table) {
    return List.copyOf(rows(table).keySet());
  }

  private Map<String, String> totals() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String k :
        List.of("devices", "constellations", "running", "completed", "failed", "cancelled")) {
      out.put(k, driver.findElement(By.id("total-" + k)).getText());
    }
    return out;
  }

  /** Picks a filter value, waits for exactly {@code expected} rows, then clears the filter. */
  private void filter(String select, String value, String table, List<String> expected) {
    new Select(driver.findElement(By.id(select))).selectByValue(value);
    waitFor(select + "=" + value, d -> ids(table).equals(expected));
    new Select(driver.findElement(By.id(select))).selectByValue("");
    waitFor(select + " cleared", d -> rows(table).size() > expected.size());
  }

  /**
   * Saves the whole page (not only the window) as {@code target/dashboard.png}, taken through the
   * DevTools protocol. With {@code -Dhub.updateDocs=true} it also refreshes the README's copy in
   * the repository's {@code docs/} (opt-in: a test run must not change tracked files).
   */
  private void screenshot() throws IOException {
    Map<String, Object> metrics = driver.executeCdpCommand("Page.getLayoutMetrics", Map.of());
    Map<?, ?> size = (Map<?, ?>) metrics.get("cssContentSize");
    Map<String, Object> clip = new LinkedHashMap<>();
    clip.put("x", 0);
    clip.put("y", 0);
    clip.put("width", ((Number) size.get("width")).doubleValue());
    clip.put("height", Math.min(6000, ((Number) size.get("height")).doubleValue()));
    clip.put("scale", 1);
    Map<String, Object> shot =
        driver.executeCdpCommand(
            "Page.captureScreenshot",
            Map.of("format", "png", "captureBeyondViewport", true, "clip", clip));
    byte[] png = Base64.getDecoder().decode((String) shot.get("data"));
    Path module = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
    Path target = module.resolve("target/dashboard.png");
    Files.createDirectories(target.getParent());
    Files.write(target, png);
    Path repo = module.getParent();
    if (Boolean.getBoolean("hub.updateDocs")
        && repo != null
        && Files.isRegularFile(repo.resolve("pom.xml"))) {
      Files.createDirectories(repo.resolve("docs"));
      Files.copy(target, repo.resolve("docs/dashboard.png"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  // ------------------------------------------------------------------------------ clients

  private WsClient register(ObjectNode frame) {
    WsClient c = hub.connect();
    clients.add(c);
    c.send(frame.toString());
    Clients.assertRegistered(c.next());
    return c;
  }

  /** A device's register frame (the reference shape), reporting the given system info. */
  private static ObjectNode device(
      String id, String platform, List<String> tags, List<String> features, String tier)
      throws IOException {
    ObjectNode f = fixture("client-register-device.json");
    f.put("client_id", id);
    ObjectNode metadata = (ObjectNode) f.get("metadata");
    metadata.put("platform", platform);
    ObjectNode info = (ObjectNode) metadata.get("system_info");
    info.put("device_id", id);
    info.put("platform", platform);
    info.set("tags", JSON.valueToTree(tags));
    info.set("supported_features", JSON.valueToTree(features));
    if (tier != null) {
      ((ObjectNode) info.get("custom_metadata")).put("tier", tier);
    }
    return f;
  }

  /** A constellation's register frame declaring {@code target}. */
  private static ObjectNode constellation(String id, String target) throws IOException {
    ObjectNode f = fixture("client-register-constellation.json");
    f.put("client_id", id);
    f.put("target_id", target);
    ((ObjectNode) f.get("metadata")).put("targeted_device_id", target);
    return f;
  }

  /**
   * Sends a task from {@code galaxy} to {@code device}, takes its ack and the delivered task, and
   * returns the device's task_end frame to fill in and send.
   */
  private static ObjectNode runTask(
      WsClient galaxy, WsClient device, String sessionId, String taskName, String request)
      throws IOException {
    ObjectNode task = fixture("client-task-constellation.json");
    task.put("client_id", GALAXY);
    task.put("target_id", LINUX);
    task.put("session_id", sessionId);
    task.put("task_name", taskName);
    task.put("request", request);
    galaxy.send(task.toString());
    ServerMessage ack =
        galaxy.next(
            m -> m.type() == ServerMessageType.HEARTBEAT && sessionId.equals(m.sessionId()));
    assertThat(ack.error()).isNull();
    assertThat(device.next(m -> m.type() == ServerMessageType.TASK).sessionId())
        .isEqualTo(sessionId);
    ObjectNode end = fixture("client-task-end-device.json");
    end.put("client_id", LINUX);
    end.put("session_id", sessionId);
    end.putNull("result");
    return end;
  }

  private static ObjectNode fixture(String name) throws IOException {
    return (ObjectNode) JSON.readTree(Fixtures.text(name));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
