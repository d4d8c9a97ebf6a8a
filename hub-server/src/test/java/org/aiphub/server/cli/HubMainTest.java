package org.aiphub.server.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.server.HubMain;
import org.aiphub.server.HubServer;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HubMain#launch}: every flag and the environment over real sockets, help and version, exit
 * code 2 with one message for every unusable setting, and the generated key.
 */
class HubMainTest {
  private static final String KEY = "cli-test-key-0123456789";
  private static final String DEVICE = "device_windows_001";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private final List<HubServer> hubs = new ArrayList<>();
  private final List<WsClient> clients = new ArrayList<>();

  /** What one {@code launch} did. */
  record Launch(HubServer hub, int exitCode, String out, String err) {
    /** The error output's lines, without blank ones. */
    List<String> errLines() {
      return err.lines().filter(l -> !l.isBlank()).toList();
    }
  }

  @AfterEach
  void stop() {
    clients.forEach(WsClient::abort);
    hubs.forEach(HubServer::shutdown);
  }

  // --------------------------------------------------------------------------------- helpers

  private Launch launch(Map<String, String> env, String... args) throws InterruptedException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int[] code = {-1};
    HubServer hub =
        HubMain.launch(
            args, env, new PrintStream(out, true, UTF_8), new PrintStream(err, true, UTF_8), code);
    if (hub != null) {
      hubs.add(hub);
    }
    return new Launch(hub, code[0], out.toString(UTF_8), err.toString(UTF_8));
  }

  private Launch launch(String... args) throws InterruptedException {
    return launch(Map.of(), args);
  }

  /** Launches and asserts a hub came up without an exit code or error output. */
  private HubServer started(Map<String, String> env, String... args) throws InterruptedException {
    Launch l = launch(env, args);
    assertThat(l.hub()).as("hub from %s; err: %s", List.of(args), l.err()).isNotNull();
    assertThat(l.exitCode()).as("no exit code for a running hub").isEqualTo(-1);
    assertThat(l.err()).isEmpty();
    return l.hub();
  }

  private HubServer started(String... args) throws InterruptedException {
    return started(Map.of(), args);
  }

  /** Launches and asserts a clean refusal: no hub, exit code 2, one message on err. */
  private String refused(Map<String, String> env, String... args) throws InterruptedException {
    Launch l = launch(env, args);
    assertThat(l.hub()).as("no hub for %s", List.of(args)).isNull();
    assertThat(l.exitCode()).isEqualTo(HubMain.EXIT_CONFIG).isEqualTo(2);
    assertThat(l.errLines()).as("one message on err").hasSize(1);
    assertThat(l.errLines().get(0)).startsWith("aip-hub: ");
    assertThat(l.out()).isEmpty();
    return l.errLines().get(0);
  }

  private static URI ws(HubServer hub, String path, String key) {
    return URI.create("ws://127.0.0.1:" + hub.port() + path + "?token=" + key);
  }

  private static URI ws(HubServer hub, String key) {
    return ws(hub, hub.config().listen().wsPath(), key);
  }

  /** 101 when the upgrade succeeds (the socket is then closed), else the HTTP status. */
  private static int handshake(URI uri) {
    try {
      WsClient c = WsClient.open(uri).get(20, TimeUnit.SECONDS);
      c.close();
      return 101;
    } catch (ExecutionException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof WebSocketHandshakeException) {
          return ((WebSocketHandshakeException) t).getResponse().statusCode();
        }
      }
      throw new AssertionError("upgrade to " + uri + " failed", e);
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("upgrade to " + uri + " did not finish", e);
    }
  }

  /** Connects and registers the fixture device. */
  private WsClient registerDevice(HubServer hub, String key) {
    WsClient c = WsClient.connect(ws(hub, key));
    clients.add(c);
    c.send(Fixtures.text("client-register-device.json"));
    Clients.assertRegistered(c.next());
    return c;
  }

  private static HttpResponse<String> get(HubServer hub, String path, String key) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.port() + path))
            .timeout(Duration.ofSeconds(20))
            .GET();
    if (key != null) {
      b.header("X-API-Key", key);
    }
    try {
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError("GET " + path, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static JsonNode json(HttpResponse<String> r) {
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + r.body(), e);
    }
  }

  private Path file(String name, String text) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return p;
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  // ------------------------------------------------------------------------------ the flags

  @Test
  void portZeroBindsAFreePortAndServes() throws InterruptedException {
    HubServer hub = started("--port", "0", "--api-key", KEY);
    assertThat(hub.config().listen().port()).isZero();
    assertThat(hub.port()).isPositive().isNotEqualTo(5000);

    registerDevice(hub, KEY);
    assertThat(hub.registry().isDeviceConnected(DEVICE)).isTrue();
    HttpResponse<String> health = get(hub, "/healthz", null);
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("ok");
  }

  @Test
  void theAdminKeyFlagIsTheOperatorKeyAndTheClientKeyNoLongerOpensTheApi()
      throws InterruptedException {
    String admin = "admin-flag-key-0123456789";
    HubServer hub = started("--port", "0", "--api-key", KEY, "--admin-key", admin);
    assertThat(hub.config().security().adminKey()).isEqualTo(admin);
    assertThat(get(hub, "/api/health", admin).statusCode()).isEqualTo(200);
    assertThat(get(hub, "/api/health", KEY).statusCode()).isEqualTo(401);
    assertThat(handshake(ws(hub, KEY))).isEqualTo(101);
    assertThat(handshake(ws(hub, admin))).isEqualTo(401);

    HubServer fromEnv = started(Map.of("HUB_ADMIN_KEY", admin), "--port", "0", "--api-key", KEY);
    assertThat(fromEnv.config().security().adminKey()).isEqualTo(admin);
    assertThat(refused(Map.of(), "--port", "0", "--api-key", KEY, "--admin-key", KEY))
        .contains("flag --admin-key", "admin_key", "(hidden)", "must differ from api_key")
        .doesNotContain(KEY);
  }

  @Test
  void theApiKeyFlagIsTheKeyClientsMustPresent() throws InterruptedException {
    HubServer hub = started("--port", "0", "--api-key", KEY);
    assertThat(hub.config().security().apiKey()).isEqualTo(KEY);

    assertThat(handshake(ws(hub, KEY))).isEqualTo(101);
    assertThat(handshake(ws(hub, "wrong-key-0123456789"))).isEqualTo(401);
    assertThat(handshake(ws(hub, KEY + "x"))).isEqualTo(401);
    assertThat(handshake(URI.create("ws://127.0.0.1:" + hub.port() + "/ws"))).isEqualTo(401);
    assertThat(get(hub, "/api/health", KEY).statusCode()).isEqualTo(200);
    assertThat(get(hub, "/api/health", "wrong-key-0123456789").statusCode()).isEqualTo(401);
    assertThat(get(hub, "/api/health", null).statusCode()).isEqualTo(401);
  }

  @Test
  void theHostFlagChoosesTheBindAddress() throws InterruptedException {
    HubServer hub = started("--host", "127.0.0.1", "--port", "0", "--api-key", KEY);
    assertThat(hub.config().listen().host()).isEqualTo("127.0.0.1");
    assertThat(hub.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(handshake(ws(hub, KEY))).isEqualTo(101);
  }

  @Test
  void theDeviceConfigFlagIsMergedIntoSystemInfo() throws InterruptedException, IOException {
    Path devices = Fixtures.copy("device_config.yaml", dir);
    HubServer hub = started("--port", "0", "--api-key", KEY, "--device-config", devices.toString());
    assertThat(hub.config().devices().configFile()).isEqualTo(devices);

    registerDevice(hub, KEY);

    ClientInfo info = hub.registry().getClientInfo(DEVICE).orElseThrow();
    assertThat(info.tags()).containsExactly("production", "office", "high_priority");
    assertThat(info.maxConcurrentTasks()).isEqualTo(5);
    HttpResponse<String> r = get(hub, "/api/devices/" + DEVICE, KEY);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode systemInfo = json(r).get("system_info");
    assertThat(texts(systemInfo.get("tags")))
        .containsExactly("production", "office", "high_priority");
    assertThat(texts(systemInfo.get("supported_features")))
        .contains("gui", "office", "excel_automation", "pdf_generation");
    assertThat(systemInfo.get("custom_metadata").get("tier").asText())
        .isEqualTo("high_performance");
  }

  @Test
  void theConfigFlagAppliesTheFilesValues() throws InterruptedException, IOException {
    Path config =
        file(
            "hub.yaml",
            "port: 0\napi_key: " + KEY + "\nws_path: /aip\nduplicate_policy: takeover\n");
    HubServer hub = started("--config", config.toString());
    assertThat(hub.config().listen().wsPath()).isEqualTo("/aip");
    assertThat(hub.config().devices().duplicatePolicy()).isEqualTo(DuplicatePolicy.TAKEOVER);

    assertThat(handshake(ws(hub, "/aip", KEY))).isEqualTo(101);
    assertThat(handshake(ws(hub, "/ws", KEY))).as("/ws is no AIP endpoint now").isNotEqualTo(101);
    assertThat(get(hub, "/ws", KEY).statusCode()).isEqualTo(404);
  }

  @Test
  void aRelativeDeviceConfigInTheConfigFileIsFoundNextToIt()
      throws InterruptedException, IOException {
    Path conf = Files.createDirectories(dir.resolve("etc/aip"));
    Fixtures.copy("device_config.yaml", conf);
    Path config =
        file(
            "etc/aip/hub.yaml",
            "port: 0\napi_key: " + KEY + "\ndevice_config: device_config.yaml\n");
    HubServer hub = started("--config", config.toString());
    assertThat(hub.config().devices().configFile()).isEqualTo(conf.resolve("device_config.yaml"));

    registerDevice(hub, KEY);
    assertThat(hub.registry().getClientInfo(DEVICE).orElseThrow().tags())
        .containsExactly("production", "office", "high_priority");
  }

  @Test
  void flagsOverrideTheConfigFile() throws InterruptedException, IOException {
    Path config = file("hub.yaml", "port: 1\napi_key: file-key-0123456789\nws_path: /aip\n");
    HubServer hub = started("--config", config.toString(), "--port", "0", "--api-key", KEY);
    assertThat(hub.config().listen().wsPath()).isEqualTo("/aip");
    assertThat(handshake(ws(hub, "/aip", KEY))).isEqualTo(101);
    assertThat(handshake(ws(hub, "/aip", "file-key-0123456789"))).isEqualTo(401);
  }

  // ---------------------------------------------------------------------------- environment

  @Test
  void portAndKeyFromTheEnvironment() throws InterruptedException {
    HubServer hub = started(Map.of("HUB_PORT", "0", "HUB_API_KEY", KEY));
    assertThat(hub.port()).isPositive();
    assertThat(handshake(ws(hub, KEY))).isEqualTo(101);
    assertThat(handshake(ws(hub, "other-key-0123456789"))).isEqualTo(401);
  }

  @Test
  void theConfigFileFromTheEnvironment() throws InterruptedException, IOException {
    Path config = file("env.yaml", "ws_path: /aip\napi_key: " + KEY + "\n");
    HubServer hub = started(Map.of("HUB_CONFIG", config.toString(), "HUB_PORT", "0"));
    assertThat(hub.config().listen().wsPath()).isEqualTo("/aip");
    assertThat(handshake(ws(hub, "/aip", KEY))).isEqualTo(101);
  }

  @Test
  void theConfigFlagBeatsHubConfig() throws InterruptedException, IOException {
    Path fromEnv = file("a.yaml", "ws_path: /from-env\n");
    Path fromFlag = file("b.yaml", "ws_path: /from-flag\n");
    HubServer hub =
        started(
            Map.of("HUB_CONFIG", fromEnv.toString()),
            "--config",
            fromFlag.toString(),
            "--port",
            "0",
            "--api-key",
            KEY);
    assertThat(hub.config().listen().wsPath()).isEqualTo("/from-flag");
  }

  @Test
  void flagsBeatTheEnvironmentWhichBeatsTheFile() throws InterruptedException, IOException {
    Path config = file("hub.yaml", "port: 1\nws_path: /file\napi_key: file-key-0123456789\n");
    Map<String, String> env = new HashMap<>();
    env.put("HUB_PORT", "0");
    env.put("HUB_WS_PATH", "/env");
    env.put("HUB_API_KEY", "env-key-0123456789");
    HubServer hub = started(env, "--config", config.toString(), "--api-key", KEY);
    assertThat(hub.config().listen().wsPath()).isEqualTo("/env");
    assertThat(handshake(ws(hub, "/env", KEY))).isEqualTo(101);
    assertThat(handshake(ws(hub, "/env", "env-key-0123456789"))).isEqualTo(401);
    assertThat(handshake(ws(hub, "/env", "file-key-0123456789"))).isEqualTo(401);
  }

  // ------------------------------------------------------------------------- help, version

  @ParameterizedTest
  @ValueSource(strings = {"--help", "-h"})
  void helpPrintsTheUsageAndExitsZero(String flag) throws InterruptedException {
    Launch l = launch(flag);
    assertThat(l.hub()).isNull();
    assertThat(l.exitCode()).isZero();
    assertThat(l.err()).isEmpty();
    assertThat(l.out())
        .contains("Usage: aip-hub")
        .contains("--config")
        .contains("--host")
        .contains("--port")
        .contains("--api-key")
        .contains("--admin-key")
        .contains("--device-config")
        .contains("--help")
        .contains("--version")
        .contains("HUB_PORT");
  }

  @ParameterizedTest
  @ValueSource(strings = {"--version", "-V"})
  void versionPrintsAndExitsZero(String flag) throws InterruptedException {
    Launch l = launch(flag, "--port", "0");
    assertThat(l.hub()).isNull();
    assertThat(l.exitCode()).isZero();
    assertThat(l.err()).isEmpty();
    assertThat(l.out().lines().toList()).hasSize(1);
    assertThat(l.out()).startsWith("aip-hub ");
  }

  @Test
  void helpWinsOverAnUnusableConfig() throws InterruptedException {
    Launch l = launch(Map.of("HUB_PORT", "abc"), "--help", "--config", "/no/such/file.yaml");
    assertThat(l.hub()).isNull();
    assertThat(l.exitCode()).isZero();
    assertThat(l.out()).contains("Usage: aip-hub");
  }

  // ------------------------------------------------------------------------------- refusals

  @Test
  void anUnknownFlagExitsTwo() throws InterruptedException {
    Launch l = launch("--bogus", "--port", "0", "--api-key", KEY);
    assertThat(l.hub()).isNull();
    assertThat(l.exitCode()).isEqualTo(2);
    assertThat(l.out()).isEmpty();
    assertThat(l.errLines().get(0)).startsWith("aip-hub: ").contains("--bogus");
  }

  @Test
  void aFlagWithoutItsValueExitsTwo() throws InterruptedException {
    Launch l = launch("--api-key", KEY, "--port");
    assertThat(l.hub()).isNull();
    assertThat(l.exitCode()).isEqualTo(2);
    assertThat(l.errLines().get(0)).startsWith("aip-hub: ").contains("--port");
  }

  static Stream<Arguments> badFlags() {
    return Stream.of(
        Arguments.of(List.of("--port", "abc"), List.of("flag --port", "port: abc", "integer")),
        Arguments.of(List.of("--port", "70000"), List.of("flag --port", "port: 70000", "65535")),
        Arguments.of(List.of("--port", "65536"), List.of("flag --port", "65536")),
        Arguments.of(List.of("--host", " "), List.of("flag --host", "host")));
  }

  @ParameterizedTest
  @MethodSource("badFlags")
  void aBadFlagValueExitsTwoNamingFlagAndValue(List<String> flags, List<String> expected)
      throws InterruptedException {
    List<String> args = new ArrayList<>(List.of("--api-key", KEY));
    args.addAll(flags);
    String message = refused(Map.of(), args.toArray(String[]::new));
    assertThat(message).contains(expected);
  }

  @Test
  void aShortApiKeyFlagIsRefusedWithoutShowingIt() throws InterruptedException {
    Launch l = launch("--port", "0", "--api-key", "Sx7kQ2p");
    assertThat(l.hub()).isNull();
    assertThat(l.exitCode()).isEqualTo(2);
    assertThat(l.errLines()).hasSize(1);
    assertThat(l.err()).contains("flag --api-key", "api_key", "(hidden)").doesNotContain("Sx7kQ2p");
    assertThat(l.out()).doesNotContain("Sx7kQ2p");
  }

  @Test
  void aMissingConfigFileExitsTwoNamingIt() throws InterruptedException {
    Path missing = dir.resolve("missing.yaml");
    assertThat(refused(Map.of(), "--config", missing.toString()))
        .isEqualTo("aip-hub: config file " + missing + ": file not found");
    assertThat(refused(Map.of("HUB_CONFIG", missing.toString())))
        .isEqualTo("aip-hub: config file " + missing + ": file not found");
  }

  @Test
  void aBadValueInTheConfigFileExitsTwoNamingFileKeyAndValue()
      throws InterruptedException, IOException {
    Path config = file("hub.yaml", "api_key: " + KEY + "\nport: 70000\n");
    assertThat(refused(Map.of(), "--config", config.toString()))
        .isEqualTo(
            "aip-hub: config file "
                + config
                + ": key 'port': port: 70000 (must be between 0 and 65535)");
    Path wrongType = file("type.yaml", "idle_timeout: [1]\n");
    assertThat(refused(Map.of(), "--config", wrongType.toString()))
        .contains(wrongType.toString(), "idle_timeout", "[1]");
    Path unknown = file("unknown.yaml", "prot: 1\n");
    assertThat(refused(Map.of(), "--config", unknown.toString()))
        .contains(unknown.toString(), "unknown key 'prot'", "value not shown");
    Path broken = file("broken.yaml", "port: 0\n  api_key: x\n");
    assertThat(refused(Map.of(), "--config", broken.toString()))
        .contains(broken.toString(), "line 2", "invalid YAML");
  }

  @Test
  void aBadEnvironmentVariableExitsTwoNamingIt() throws InterruptedException {
    assertThat(refused(Map.of("HUB_PORT", "abc", "HUB_API_KEY", KEY)))
        .isEqualTo("aip-hub: environment variable HUB_PORT: port: abc (must be an integer)");
    assertThat(refused(Map.of("HUB_API_KEY", "Sx7kQ2p", "HUB_PORT", "0")))
        .contains("HUB_API_KEY", "(hidden)")
        .doesNotContain("Sx7kQ2p");
  }

  @Test
  void aMissingDeviceConfigExitsTwoNamingIt() throws InterruptedException {
    Path missing = dir.resolve("devices.yaml");
    assertThat(
            refused(
                Map.of(), "--port", "0", "--api-key", KEY, "--device-config", missing.toString()))
        .startsWith("aip-hub: flag --device-config: device_config: " + missing)
        .contains("not found");
    assertThat(
            refused(
                Map.of("HUB_DEVICE_CONFIG", missing.toString()), "--port", "0", "--api-key", KEY))
        .startsWith("aip-hub: environment variable HUB_DEVICE_CONFIG: device_config: " + missing);
  }

  @Test
  void anUnresolvableHostExitsTwoBlamingTheHostAndWhereItWasSet()
      throws InterruptedException, IOException {
    assertThat(refused(Map.of(), "--host", "nosuch.invalid", "--port", "0", "--api-key", KEY))
        .isEqualTo(
            "aip-hub: flag --host: host: nosuch.invalid (cannot resolve this name to an address)");
    Path config = file("hub.yaml", "host: 192.0.2.77\nport: 0\napi_key: " + KEY + "\n");
    assertThat(refused(Map.of(), "--config", config.toString()))
        .startsWith("aip-hub: config file " + config + ": key 'host': host: 192.0.2.77")
        .contains("not an address of this machine");
  }

  @Test
  void aFailedStartLeavesNoThreadBehind() throws InterruptedException, IOException {
    Path notPem = file("not.pem", "not a certificate\n");
    java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();

    assertThat(
            refused(
                Map.of("HUB_TLS_CERT", notPem.toString(), "HUB_TLS_KEY", notPem.toString()),
                "--port",
                "0",
                "--api-key",
                KEY))
        .startsWith("aip-hub: environment variable HUB_TLS_CERT: tls_cert: " + notPem);
    assertThat(refused(Map.of(), "--host", "nosuch.invalid", "--port", "0", "--api-key", KEY))
        .contains("host");

    // Polled by hand: a polling library's own thread would count as a new thread.
    List<String> left = List.of();
    for (int i = 0; i < 100; i++) {
      left =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> !before.contains(t) && t.isAlive() && !t.isDaemon())
              .map(Thread::getName)
              .toList();
      if (left.isEmpty()) {
        break;
      }
      Thread.sleep(100);
    }
    assertThat(left).as("non-daemon threads started by the failed starts").isEmpty();
  }

  @Test
  void anInvalidDeviceConfigExitsTwoNamingIt() throws InterruptedException, IOException {
    Path bad = file("devices.yaml", "devices: [oops\n");
    assertThat(
            refused(Map.of(), "--port", "0", "--api-key", KEY, "--device-config", bad.toString()))
        .contains("device_config", bad.toString());
  }

  @Test
  void aPortInUseExitsTwoWithAClearMessage() throws InterruptedException {
    HubServer first = started("--port", "0", "--api-key", KEY);
    int port = first.port();

    String message = refused(Map.of(), "--port", String.valueOf(port), "--api-key", KEY);

    assertThat(message)
        .startsWith("aip-hub: flag --port: port: " + port + " (cannot listen on 127.0.0.1:" + port);
    assertThat(handshake(ws(first, KEY))).as("the first hub still serves").isEqualTo(101);
  }

  // --------------------------------------------------------------------------- generated key

  private static final Pattern PRINTED_KEY = Pattern.compile("(?m)^\\s+([A-Za-z0-9_-]{20,})\\s*$");

  private static String printedKey(String out) {
    Matcher m = PRINTED_KEY.matcher(out);
    assertThat(m.find()).as("a key on a line of its own in:%n%s", out).isTrue();
    String key = m.group(1);
    assertThat(m.find()).as("only one key line").isFalse();
    return key;
  }

  @Test
  void withoutAKeyAStrongOneIsGeneratedPrintedOnceAndWorks() throws InterruptedException {
    Launch l = launch("--port", "0");
    assertThat(l.hub()).as("err: %s", l.err()).isNotNull();
    assertThat(l.err()).isEmpty();
    HubServer hub = l.hub();

    String key = printedKey(l.out());
    assertThat(key).hasSizeGreaterThanOrEqualTo(32).matches("[A-Za-z0-9_-]+");
    assertThat(l.out().split(Pattern.quote(key), -1)).as("printed exactly once").hasSize(2);
    assertThat(l.out()).contains("--api-key").contains("HUB_API_KEY").contains("token=");
    assertThat(hub.config().security().apiKey()).isEqualTo(key);

    WsClient device = registerDevice(hub, key);
    assertThat(device.isClosed()).isFalse();
    assertThat(handshake(ws(hub, "not-" + key))).isEqualTo(401);
    assertThat(get(hub, "/api/health", key).statusCode()).isEqualTo(200);
  }

  @Test
  void everyStartGeneratesADifferentKey() throws InterruptedException {
    String a = printedKey(launch("--port", "0").out());
    String b = printedKey(launch("--port", "0").out());
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void aConfiguredKeyIsNeverPrinted() throws InterruptedException, IOException {
    Launch byFlag = launch("--port", "0", "--api-key", KEY);
    Launch byEnv = launch(Map.of("HUB_API_KEY", KEY, "HUB_PORT", "0"));
    Path config = file("hub.yaml", "api_key: " + KEY + "\nport: 0\n");
    Launch byFile = launch("--config", config.toString());
    for (Launch l : List.of(byFlag, byEnv, byFile)) {
      assertThat(l.hub()).isNotNull();
      assertThat(l.out()).doesNotContain(KEY).doesNotContain("generated");
      assertThat(l.err()).doesNotContain(KEY);
      assertThat(l.hub().config().toString()).doesNotContain(KEY);
    }
  }
}
