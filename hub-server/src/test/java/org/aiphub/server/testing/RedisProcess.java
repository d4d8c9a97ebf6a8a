package org.aiphub.server.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A Redis for cluster tests: the one {@code .ci/run} started ({@code HUB_TEST_REDIS_URL}), or a
 * private {@code redis-server} on a free loopback port that a test may stop and restart. Without
 * either, tests are skipped, unless {@code HUB_REQUIRE_REDIS=1} (CI) makes that a failure.
 */
public final class RedisProcess implements AutoCloseable {
  private final int port;
  private final Path dir;
  private Process process;

  private RedisProcess(int port, Path dir) {
    this.port = port;
    this.dir = dir;
  }

  /** The shared CI Redis when there is one, else a private one. */
  public static String sharedUrlOrNull() {
    String url = System.getenv("HUB_TEST_REDIS_URL");
    return url == null || url.isBlank() ? null : url;
  }

  /** Starts a private redis-server (skips or fails the test when it is not installed). */
  public static RedisProcess start() {
    String binary = find();
    if (binary == null) {
      String why =
          "redis-server is not installed (apt-get install -y redis-server), and cluster tests need"
              + " a Redis they can stop and restart";
      if ("1".equals(System.getenv("HUB_REQUIRE_REDIS"))) {
        throw new AssertionError(why);
      }
      Assumptions.abort(why);
    }
    try {
      RedisProcess r = new RedisProcess(freePort(), Files.createTempDirectory("hub-redis"));
      r.launch(binary);
      return r;
    } catch (IOException e) {
      throw new AssertionError("could not start redis-server", e);
    }
  }

  private static String find() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path p = Path.of(dir, "redis-server");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return Files.isExecutable(Path.of("/usr/bin/redis-server")) ? "/usr/bin/redis-server" : null;
  }

  private void launch(String binary) throws IOException {
    process =
        new ProcessBuilder(
                List.of(
                    binary,
                    "--port",
                    Integer.toString(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    dir.toString()))
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("redis.log").toFile())
            .start();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        if (s.isConnected()) {
          return;
        }
      } catch (IOException notYet) {
        if (!process.isAlive()) {
          throw new IOException(
              "redis-server exited: " + Files.readString(dir.resolve("redis.log")));
        }
        try {
          Thread.sleep(50); // polling a port that is coming up; nothing to wait on instead
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
    }
    throw new IOException("redis-server did not listen on " + port);
  }

  /** {@code redis://127.0.0.1:PORT}. */
  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Kills Redis (its data is lost, as with a crash). */
  public void stop() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  /**
   * Freezes redis-server (SIGSTOP): its connections stay open but nothing is answered, and its data
   * is kept, as in a partition. {@link #unpause()} lets it go on.
   */
  public void pause() {
    signal("STOP");
  }

  /** Lets a paused redis-server go on (SIGCONT); keys whose TTL ran out meanwhile expire. */
  public void unpause() {
    signal("CONT");
  }

  private void signal(String name) {
    if (process == null) {
      throw new IllegalStateException("redis-server is not running");
    }
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
              .redirectErrorStream(true)
              .start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new AssertionError("kill -" + name + " " + process.pid() + " failed");
      }
    } catch (IOException e) {
      throw new AssertionError("kill -" + name + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Starts Redis again on the same port, empty. */
  public void restart() {
    stop();
    String binary = find();
    try {
      launch(binary);
    } catch (IOException e) {
      throw new AssertionError("could not restart redis-server", e);
    }
  }

  @Override
  public void close() {
    stop();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
