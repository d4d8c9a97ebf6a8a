package org.aiphub.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.server.HubMain;

/**
 * The hub as an operator runs it: {@code java -cp <test classpath> org.aiphub.server.HubMain ...}
 * in its own process, logging through the production {@code logback.xml} into files, so that
 * signals, exit codes and log lines can be observed, at a small heap ({@code -Xmx256m}). Always
 * {@link #close()} it.
 */
public final class HubProcess implements AutoCloseable {
  /** The JVM may take long to start on a loaded machine. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private static final Pattern LISTENING =
      Pattern.compile("AIP hub listening on /127\\.0\\.0\\.1:(\\d+) ");

  private final Process process;
  private final Path stdout;
  private final Path stderr;
  private int port = -1;

  private HubProcess(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /**
   * Starts {@code HubMain} with {@code args} in {@code dir}, with no {@code HUB_*} variable of this
   * JVM's environment but those in {@code env}.
   */
  public static HubProcess start(Path dir, Map<String, String> env, String... args) {
    return start(dir, env, List.of("-Xmx256m", "-XX:+UseSerialGC"), args);
  }

  /**
   * Starts {@code HubMain} as {@link #start(Path, Map, String...)} does, with {@code jvmOptions}
   * (heap size, collector) in place of the defaults {@code -Xmx256m -XX:+UseSerialGC}.
   */
  public static HubProcess start(
      Path dir, Map<String, String> env, List<String> jvmOptions, String... args) {
    URL logback = HubMain.class.getResource("/logback.xml");
    assertThat(logback).as("the production logback.xml on the classpath").isNotNull();
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.add("-XX:TieredStopAtLevel=1");
    // The test classpath has logback-test.xml (WARN only): use the production config instead.
    cmd.add("-Dlogback.configurationFile=" + logback);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(HubMain.class.getName());
    cmd.addAll(List.of(args));
    Path out = dir.resolve("hub.stdout.log");
    Path err = dir.resolve("hub.stderr.log");
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("HUB_"));
    pb.environment().putAll(env);
    try {
      return new HubProcess(pb.start(), out, err);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the start-up line and returns the port it names. */
  public int awaitListening() {
    await("the start-up log line")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> LISTENING.matcher(log()).find() || !process.isAlive());
    Matcher m = LISTENING.matcher(log());
    assertThat(m.find()).as("hub exited before listening; log:%n%s", log()).isTrue();
    port = Integer.parseInt(m.group(1));
    return port;
  }

  /** The bound port, once {@link #awaitListening()} returned. */
  public int port() {
    return port;
  }

  public Process process() {
    return process;
  }

  public long pid() {
    return process.pid();
  }

  /** Sends a signal by name ({@code TERM}, {@code INT}, {@code HUP}) with {@code kill}. */
  public void signal(String name) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid()))
              .redirectErrorStream(true)
              .start();
      assertThat(kill.waitFor(30, TimeUnit.SECONDS)).as("kill -%s finished", name).isTrue();
      assertThat(kill.exitValue())
          .as("kill -%s: %s", name, new String(kill.getInputStream().readAllBytes()))
          .isZero();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits up to {@code timeout} for the process to end and returns its exit code. */
  public int awaitExit(Duration timeout) {
    try {
      assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
          .as("hub exited within %s; log:%n%s", timeout, log())
          .isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    return process.exitValue();
  }

  /** Everything the process wrote so far, stdout then stderr. */
  public String log() {
    return read(stdout) + read(stderr);
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? new String(Files.readAllBytes(p), StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Kills the process if it still runs. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
