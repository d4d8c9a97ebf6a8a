package org.aiphub.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.aiphub.server.FatalErrors;
import org.aiphub.server.HubMain;
import org.aiphub.server.config.ConfigException;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.config.HubConfigLoader;
import org.aiphub.server.config.Settings;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deploy files: {@code deploy/aip-hub.service} starts the jar as {@code hub.sh} does, restarts
 * it on failure (an OutOfMemoryError's exit code 3 included) but not for a configuration it
 * refuses, gives it the time its graceful stop needs and the descriptors its connection target
 * needs; {@code systemd-analyze verify} accepts it (skipped where systemd-analyze is not installed,
 * unless {@code HUB_REQUIRE_SYSTEMD_ANALYZE=1}, set by CI); and {@code deploy/hub.env.example}
 * holds only variables the hub or the unit reads, refuses to start until its keys are filled in,
 * and is a valid configuration once they are.
 */
class SystemdUnitTest {
  /** Devices one hub node is sized for (docs/ARCHITECTURE.md, BENCHMARKS.md: 19,000 held). */
  private static final int DEVICES_PER_NODE = 20_000;

  /** Variables the environment file may set besides HUB_<KEY> settings, and who reads them. */
  private static final Set<String> NOT_SETTINGS =
      Set.of(
          "HUB_JAVA_OPTS", // the unit's ExecStart, as hub.sh
          "HUB_CONFIG", // HubMain: the YAML file
          "HUB_LOG_LEVEL", // logback.xml
          "HUB_LOG_CLIENTS",
          "HUB_LOG_SESSIONS");

  private static final Path REPO = repo();
  private static final Path UNIT = REPO.resolve("deploy/aip-hub.service");
  private static final Path ENV_EXAMPLE = REPO.resolve("deploy/hub.env.example");

  @Test
  void unitStartsTheJarAsHubShDoes() throws IOException {
    Map<String, List<String>> service = unit().get("Service");
    assertThat(service.get("User")).containsExactly("aiphub");
    assertThat(service.get("Group")).containsExactly("aiphub");
    assertThat(service.get("EnvironmentFile")).containsExactly("/etc/aip-hub/hub.env");
    assertThat(service.get("ExecStart"))
        .containsExactly(
            "/usr/bin/java $JAVA_OPTS $HUB_JAVA_OPTS -jar /opt/aip-hub/hub-server.jar");
    Map<String, String> env = new LinkedHashMap<>();
    for (String e : service.get("Environment")) {
      env.put(e.substring(0, e.indexOf('=')), e.substring(e.indexOf('=') + 1));
    }
    assertThat(env).containsEntry("HUB_JAVA_OPTS", "");
    assertThat(List.of(env.get("JAVA_OPTS").split(" ")))
        .as("the unit's JAVA_OPTS and hub.sh's own JVM options, in one place each")
        .isEqualTo(hubShJavaOptions())
        .contains("-XX:+ExitOnOutOfMemoryError");
    assertThat(service.get("ExecReload")).containsExactly("/bin/kill -HUP $MAINPID");
  }

  @Test
  void unitRestartsAfterFailuresButNotForABadConfigAndWaitsForTheGracefulStop() throws IOException {
    Map<String, List<String>> service = unit().get("Service");
    assertThat(service.get("Restart")).containsExactly("on-failure");
    List<String> success = words(service.get("SuccessExitStatus"));
    assertThat(success)
        .as("an OutOfMemoryError and a bad config are failures")
        .doesNotContain(String.valueOf(FatalErrors.EXIT_CODE), String.valueOf(HubMain.EXIT_CONFIG));
    assertThat(words(service.get("RestartPreventExitStatus")))
        .containsExactly(String.valueOf(HubMain.EXIT_CONFIG));
    Duration grace = HubConfigLoader.load(null, Map.of(), Map.of()).timeouts().shutdownGrace();
    assertThat(seconds(service.get("TimeoutStopSec").get(0)))
        .as("TimeoutStopSec above shutdown_grace (%s) and the JVM's exit", grace)
        .isGreaterThanOrEqualTo(grace.toSeconds() + 10);
    assertThat(Integer.parseInt(service.get("LimitNOFILE").get(0)))
        .as("a descriptor per socket for %s devices, three times over", DEVICES_PER_NODE)
        .isGreaterThanOrEqualTo(3 * DEVICES_PER_NODE);
  }

  @Test
  void unitIsHardened() throws IOException {
    Map<String, List<String>> service = unit().get("Service");
    for (String[] kv :
        new String[][] {
          {"NoNewPrivileges", "yes"},
          {"ProtectSystem", "strict"},
          {"ProtectHome", "yes"},
          {"PrivateTmp", "yes"},
          {"PrivateDevices", "yes"},
          {"CapabilityBoundingSet", ""},
        }) {
      assertThat(service.get(kv[0])).as(kv[0]).containsExactly(kv[1]);
    }
    assertThat(service).as("the hub writes no files").doesNotContainKey("ReadWritePaths");
    assertThat(unit().get("Install").get("WantedBy")).containsExactly("multi-user.target");
  }

  /**
   * {@code systemd-analyze verify} on a copy of the unit whose {@code /usr/bin/java} is this test's
   * own JVM (verify requires every command to exist, and a JDK need not live there). It exits 0
   * even for unknown keys or bad values, which it only reports, so every line it writes about the
   * unit fails the test; a broken copy shows that it does report them.
   */
  @Test
  void systemdAnalyzeVerifiesTheUnit(@TempDir Path dir) throws Exception {
    Path analyze = onPath("systemd-analyze");
    String why =
        "systemd-analyze is not installed (Debian: apt-get install systemd; it needs no running"
            + " systemd); the unit's settings are still checked by the other tests of this class";
    if (analyze == null && "1".equals(System.getenv("HUB_REQUIRE_SYSTEMD_ANALYZE"))) {
      throw new AssertionError("HUB_REQUIRE_SYSTEMD_ANALYZE=1 but " + why);
    }
    Assumptions.assumeTrue(analyze != null, "skipped: " + why);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String text =
        Files.readString(UNIT, StandardCharsets.UTF_8).replace("/usr/bin/java ", java + " ");
    if (!Files.isExecutable(Path.of("/bin/kill")) && onPath("kill") != null) {
      text = text.replace("/bin/kill ", onPath("kill") + " ");
    }
    Path copy = dir.resolve("aip-hub.service");
    Files.writeString(copy, text, StandardCharsets.UTF_8);
    Verdict good = verify(analyze, copy);
    assertThat(good.exit()).as("systemd-analyze verify: %s", good.output()).isZero();
    assertThat(good.aboutTheUnit()).as("systemd-analyze verify's complaints").isEmpty();

    Path broken = dir.resolve("broken").resolve("aip-hub.service");
    Files.createDirectories(broken.getParent());
    Files.writeString(
        broken,
        text.replace("Restart=on-failure", "Restart=on-falure\nRestartOnFailure=yes"),
        StandardCharsets.UTF_8);
    assertThat(verify(analyze, broken).aboutTheUnit())
        .as("a misspelt value and an unknown key are reported")
        .hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void envExampleSetsOnlyWhatTheHubReadsAndNeedsItsKeysFilledIn() throws IOException {
    Map<String, String> env = envFile(ENV_EXAMPLE);
    Set<String> settings =
        Settings.all().stream().map(s -> s.envName()).collect(Collectors.toSet());
    assertThat(env.keySet())
        .as("HUB_<KEY> settings and the variables the unit and logback.xml read")
        .allMatch(k -> settings.contains(k) || NOT_SETTINGS.contains(k));
    assertThat(env).containsKeys("HUB_API_KEY", "HUB_ADMIN_KEY");
    assertThat(env.get("HUB_JAVA_OPTS")).doesNotContain("ExitOnOutOfMemoryError");
    for (String logger : List.of("HUB_LOG_LEVEL", "HUB_LOG_CLIENTS", "HUB_LOG_SESSIONS")) {
      if (env.containsKey(logger)) {
        assertThat(env.get(logger)).isIn("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
      }
    }

    // As shipped, the hub refuses to start until both keys are set: no key is made up, none
    // printed to the journal.
    Map<String, String> clientKeyOnly = new LinkedHashMap<>(env);
    clientKeyOnly.put("HUB_API_KEY", "a".repeat(64));
    assertThatThrownBy(() -> HubConfigLoader.load(null, clientKeyOnly, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("HUB_ADMIN_KEY");
    Map<String, String> operatorKeyOnly = new LinkedHashMap<>(env);
    operatorKeyOnly.put("HUB_ADMIN_KEY", "b".repeat(64));
    assertThatThrownBy(() -> HubConfigLoader.load(null, operatorKeyOnly, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("HUB_API_KEY");

    // With the keys filled in (as the README's walk-through does), a valid configuration.
    Map<String, String> filled = new LinkedHashMap<>(env);
    filled.put("HUB_API_KEY", "a".repeat(64));
    filled.put("HUB_ADMIN_KEY", "b".repeat(64));
    HubConfig config = HubConfigLoader.load(null, filled, Map.of());
    assertThat(config.security().adminKey()).isEqualTo("b".repeat(64));
    assertThat(config.listen().host()).isEqualTo("0.0.0.0");
    assertThat(config.limits().maxConnections()).isPositive().isLessThan(65536 - 100);
  }

  // ------------------------------------------------------------------------------- helpers

  private record Verdict(int exit, String output) {
    /** Lines about the unit under test (the file or unit name), not about units it pulls in. */
    List<String> aboutTheUnit() {
      return output.lines().filter(l -> l.contains("aip-hub")).toList();
    }
  }

  private static Verdict verify(Path analyze, Path unit) throws Exception {
    Process p =
        new ProcessBuilder(analyze.toString(), "verify", "--man=no", unit.toString())
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("systemd-analyze verify did not finish: " + out);
    }
    return new Verdict(p.exitValue(), out);
  }

  /** The unit's sections: key to every value it is given, in order (continuations joined). */
  private static Map<String, Map<String, List<String>>> unit() throws IOException {
    Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
    Map<String, List<String>> current = null;
    String pending = "";
    for (String raw : Files.readAllLines(UNIT, StandardCharsets.UTF_8)) {
      String line = pending + raw.strip();
      if (line.endsWith("\\")) {
        pending = line.substring(0, line.length() - 1) + " ";
        continue;
      }
      pending = "";
      if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
        continue;
      }
      if (line.startsWith("[")) {
        current = new LinkedHashMap<>();
        sections.put(line.substring(1, line.indexOf(']')), current);
        continue;
      }
      int eq = line.indexOf('=');
      assertThat(eq).as("a key=value line: %s", line).isPositive();
      assertThat(current).as("a section before %s", line).isNotNull();
      current
          .computeIfAbsent(line.substring(0, eq).strip(), k -> new ArrayList<>())
          .add(line.substring(eq + 1).strip());
    }
    return sections;
  }

  /** {@code KEY=VALUE} lines of an environment file (comments and blank lines skipped). */
  private static Map<String, String> envFile(Path file) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      int eq = l.indexOf('=');
      assertThat(eq).as("a KEY=VALUE line: %s", l).isPositive();
      assertThat(env.put(l.substring(0, eq), l.substring(eq + 1))).as("set twice: %s", l).isNull();
    }
    return env;
  }

  /** The JVM options hub.sh puts before HUB_JAVA_OPTS on its java line. */
  private static List<String> hubShJavaOptions() throws IOException {
    Matcher m =
        Pattern.compile("(?m)^exec java (.*?) \\$\\{HUB_JAVA_OPTS:-\\} -jar ")
            .matcher(Files.readString(REPO.resolve("hub.sh"), StandardCharsets.UTF_8));
    assertThat(m.find()).as("hub.sh's java line").isTrue();
    return List.of(m.group(1).split(" "));
  }

  private static List<String> words(List<String> values) {
    List<String> out = new ArrayList<>();
    if (values != null) {
      values.forEach(v -> out.addAll(List.of(v.split("\\s+"))));
    }
    return out;
  }

  /** A systemd time span of seconds or minutes: 30s, 30, 2min, 1min 30s. */
  private static long seconds(String span) {
    long total = 0;
    Matcher m = Pattern.compile("(\\d+)\\s*(min|m|s|sec)?").matcher(span);
    while (m.find()) {
      long n = Long.parseLong(m.group(1));
      total += m.group(2) != null && m.group(2).startsWith("m") ? n * 60 : n;
    }
    return total;
  }

  private static Path onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, command);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /** The repository root: the parent of this module's directory. */
  private static Path repo() {
    Path module = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
    return module.getParent();
  }
}
