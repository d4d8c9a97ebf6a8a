package org.aiphub.bench.loadgen;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private {@code redis-server} for a cluster run: a free loopback port, no persistence, its log
 * in a temporary directory. It is ready when it answers {@code PING}; {@link #close()} stops it
 * (SIGTERM, then SIGKILL), and a shutdown hook kills it if the load generator exits first.
 */
final class RedisServer implements AutoCloseable {
  private static final long START_TIMEOUT_MS = 20_000;

  private final Process process;
  private final Path dir;
  private final int port;
  private final Thread killer;

  private RedisServer(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.killer = new Thread(process::destroyForcibly, "loadgen-kill-redis");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /**
   * Starts {@code binary} (a path, or a name looked up on PATH).
   *
   * @throws LoadGenException when it is not installed or does not come up
   */
  static RedisServer start(String binary) {
    String exe = find(binary);
    if (exe == null) {
      throw new LoadGenException(
          "redis-server not found ('"
              + binary
              + "'): install it (apt-get install redis-server) or pass --redis-server PATH");
    }
    Path dir;
    int port;
    Process p;
    try {
      dir = Files.createTempDirectory("loadgen-redis-");
      port = freePort();
      p =
          new ProcessBuilder(
                  List.of(
                      exe,
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
    } catch (IOException e) {
      throw new LoadGenException("cannot start " + exe + ": " + e.getMessage(), e);
    }
    RedisServer r = new RedisServer(p, dir, port);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MS);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        String log = r.logTail();
        r.close();
        throw new LoadGenException("redis-server exited at start: " + log);
      }
      if (r.ping()) {
        return r;
      }
      try {
        Thread.sleep(50); // polling a port that is coming up
      } catch (InterruptedException e) {
        r.close();
        Thread.currentThread().interrupt();
        throw new LoadGenException("interrupted while starting redis-server", e);
      }
    }
    r.close();
    throw new LoadGenException(
        "redis-server did not answer PING within " + START_TIMEOUT_MS + " ms");
  }

  private static String find(String binary) {
    if (binary.contains("/")) {
      return Files.isExecutable(Path.of(binary)) ? binary : null;
    }
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, binary))) {
        return Path.of(d, binary).toString();
      }
    }
    Path usual = Path.of("/usr/bin", binary);
    return Files.isExecutable(usual) ? usual.toString() : null;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private boolean ping() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      s.setSoTimeout(1000);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] b = new byte[7];
      int n = in.readNBytes(b, 0, b.length);
      return new String(b, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException notYet) {
      return false;
    }
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("redis.log"));
      return String.join("\n  ", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** {@code redis://127.0.0.1:PORT}. */
  String url() {
    return "redis://127.0.0.1:" + port;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return dir.resolve("redis.log");
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killer);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }
}
