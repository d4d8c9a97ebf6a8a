package org.aiphub.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.server.testing.Fixtures;
import org.aiphub.server.testing.RawWsClient;
import org.aiphub.server.testing.RawWsClient.Frame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hub as the README tells users to run it: {@code java -jar hub-server/target/hub-server.jar
 * --host H --port P --api-key K --device-config FILE}, the shaded jar Maven just packaged (run by
 * failsafe after {@code package}). A client that shares nothing with the hub but a socket sends the
 * golden frames byte for byte and reads raw replies: a broken jar (a service file lost in shading,
 * the native transport missing) fails here although every in-process test passes.
 */
class ShadedJarIT {
  private static final String KEY = "jar-smoke-key-0123456789";
  private static final Duration START = Duration.ofSeconds(60);
  private static final Pattern LISTENING =
      Pattern.compile(
          "AIP hub listening on /127\\.0\\.0\\.1:(\\d+) \\((\\w+)\\): AIP endpoint"
              + " ws://127\\.0\\.0\\.1:(\\d+)/ws\\?token=KEY, HTTP API http://127\\.0\\.0\\.1:(\\d+)/api/,"
              + " metrics http://127\\.0\\.0\\.1:(\\d+)/metrics");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private Process hub;
  private Path log;

  @AfterEach
  void stop() throws InterruptedException {
    if (hub != null && hub.isAlive()) {
      hub.destroyForcibly();
      hub.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static Path jar() {
    Path jar = Path.of(System.getProperty("hub.jar", "target/hub-server.jar"));
    assertThat(jar).as("the shaded jar (mvn package)").isRegularFile();
    return jar;
  }

  private int start() throws IOException, InterruptedException {
    Path devices = Fixtures.copy("device_config.yaml", dir);
    log = dir.resolve("hub.log");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(
        List.of(
            "-XX:+ExitOnOutOfMemoryError",
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            "-jar",
            jar().toString()));
    cmd.addAll(
        List.of(
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--api-key",
            KEY,
            "--device-config",
            devices.toString()));
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("HUB_"));
    hub = pb.start();
    long deadline = System.nanoTime() + START.toNanos();
    while (System.nanoTime() < deadline && hub.isAlive()) {
      Matcher m = LISTENING.matcher(log());
      if (m.find()) {
        int port = Integer.parseInt(m.group(1));
        for (int g = 3; g <= 5; g++) {
          assertThat(Integer.parseInt(m.group(g)))
              .as("every URL names the bound port")
              .isEqualTo(port);
        }
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        if (os.contains("linux") && ("amd64".equals(arch) || "aarch64".equals(arch))) {
          assertThat(m.group(2)).as("the native transport made it into the jar").isEqualTo("epoll");
        }
        return port;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no start-up line from the jar; log:\n" + log());
  }

  private String log() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static JsonNode json(RawWsClient c) throws IOException {
    Frame f = c.readFrame();
    assertThat(f.opcode()).as("frame %s", f).isEqualTo(RawWsClient.TEXT);
    return JSON.readTree(f.text());
  }

  @Test
  void theJarServesTheGoldenFramesAndStopsCleanlyOnSigterm() throws Exception {
    int port = start();
    URI ws = URI.create("ws://127.0.0.1:" + port + "/ws?token=" + KEY);

    try (RawWsClient device = RawWsClient.connect(ws);
        RawWsClient galaxy = RawWsClient.connect(ws)) {
      device.sendText(Fixtures.text("client-register-device.json"));
      JsonNode ok = json(device);
      assertThat(ok.path("type").asText()).isEqualTo("heartbeat");
      assertThat(ok.path("status").asText()).isEqualTo("ok");

      galaxy.sendText(Fixtures.text("client-register-constellation.json"));
      assertThat(json(galaxy).path("status").asText()).isEqualTo("ok");

      // Galaxy's heartbeat says client_type device: answered, not refused.
      galaxy.sendText(Fixtures.text("client-heartbeat-constellation.json"));
      JsonNode beat = json(galaxy);
      assertThat(beat.path("type").asText()).isEqualTo("heartbeat");
      assertThat(beat.path("status").asText()).isEqualTo("ok");

      // The cached, merged system info, as server-device-info-response.json has it.
      galaxy.sendText(Fixtures.text("client-device-info-request.json"));
      JsonNode info = json(galaxy);
      JsonNode expected = JSON.readTree(Fixtures.text("server-device-info-response.json"));
      assertThat(info.path("type").asText()).isEqualTo("device_info_response");
      assertThat(info.path("response_id").asText()).isEqualTo("info-0001");
      assertThat(info.path("result")).isEqualTo(expected.path("result"));

      galaxy.sendText(Fixtures.text("client-task-constellation.json"));
      JsonNode ack = json(galaxy);
      assertThat(ack.path("session_id").asText()).isEqualTo("weekly_report@task_3");
      assertThat(ack.path("status").asText()).isEqualTo("ok");
      JsonNode task = json(device);
      assertThat(task.path("type").asText()).isEqualTo("task");
      assertThat(task.path("user_request").asText())
          .isEqualTo("Open sales.xlsx and total column C");

      device.sendText(Fixtures.text("client-task-end-device.json"));
      JsonNode end = json(galaxy);
      assertThat(end.path("type").asText()).isEqualTo("task_end");
      assertThat(end.path("status").asText()).isEqualTo("completed");
      assertThat(end.path("result").path("total").asDouble()).isEqualTo(18250.5);

      hub.destroy(); // SIGTERM
      assertThat(hub.waitFor(60, TimeUnit.SECONDS)).as("stopped within the grace time").isTrue();
      assertThat(hub.exitValue()).as("exit code; log:%n%s", log()).isZero();
      for (RawWsClient c : List.of(device, galaxy)) {
        List<Frame> rest = c.readUntilEof();
        assertThat(rest).isNotEmpty();
        Frame close = rest.get(rest.size() - 1);
        assertThat(close.opcode()).isEqualTo(RawWsClient.CLOSE);
        assertThat(close.closeCode()).isEqualTo(1001);
      }
    }
    assertThat(log()).contains("AIP hub stopped").doesNotContain(KEY);
  }
}
