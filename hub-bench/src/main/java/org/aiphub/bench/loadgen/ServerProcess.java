package org.aiphub.bench.loadgen;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server in its own process, so its CPU and memory can be read alone. It is ready when its output
 * shows {@code listening on ...:PORT} (the hub, the floor relay and the Node relay all print that);
 * its output goes to a log file. {@link #close()} sends SIGTERM, then kills it after a grace time;
 * a shutdown hook kills whatever is still running when the load generator exits.
 */
final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on \\S*:(\\d+)");
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> LIVE.forEach(Process::destroyForcibly), "loadgen-kill-servers"));
  }

  private final String name;
  private final Process process;
  private final Path log;
  private final int port;
  private final Thread pump;

  private ServerProcess(String name, Process process, Path log, int port, Thread pump) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.port = port;
    this.pump = pump;
  }

  /** Starts {@code command} and waits until it says which port it listens on. */
  static ServerProcess start(
      String name, List<String> command, Map<String, String> env, Path workDir, long timeoutMs) {
    Path log;
    Process p;
    try {
      log = Files.createTempFile("loadgen-" + name + "-", ".log");
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      if (workDir != null) {
        pb.directory(workDir.toFile());
      }
      pb.environment().keySet().removeIf(k -> k.startsWith("HUB_"));
      pb.environment().putAll(env);
      p = pb.start();
    } catch (IOException e) {
      throw new LoadGenException("cannot start " + name + " (" + command.get(0) + "): " + e, e);
    }
    LIVE.add(p);
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Deque<String> tail = new ArrayDeque<>();
    Thread pump = new Thread(() -> pump(p, log, port, tail), "loadgen-" + name + "-output");
    pump.setDaemon(true);
    pump.start();
    try {
      int bound = port.get(timeoutMs, TimeUnit.MILLISECONDS);
      return new ServerProcess(name, p, log, bound, pump);
    } catch (ExecutionException | TimeoutException e) {
      kill(p);
      String last;
      synchronized (tail) {
        last = String.join("\n  ", tail);
      }
      throw new LoadGenException(
          name
              + " did not report a listening port"
              + (e instanceof TimeoutException ? " within " + timeoutMs + " ms" : " (it exited)")
              + "; command: "
              + String.join(" ", command)
              + "; last output:\n  "
              + last);
    } catch (InterruptedException e) {
      kill(p);
      Thread.currentThread().interrupt();
      throw new LoadGenException("interrupted while starting " + name, e);
    }
  }

  private static void pump(
      Process p, Path log, CompletableFuture<Integer> port, Deque<String> tail) {
    try (BufferedReader in =
            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Writer out = Files.newBufferedWriter(log)) {
      String line;
      while ((line = in.readLine()) != null) {
        out.write(line);
        out.write('\n');
        if (!port.isDone()) {
          out.flush();
          synchronized (tail) {
            tail.addLast(line);
            if (tail.size() > 20) {
              tail.removeFirst();
            }
          }
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            port.complete(Integer.parseInt(m.group(1)));
          }
        }
      }
    } catch (IOException e) {
      // the process went away; the waiter below reports it
    } finally {
      port.completeExceptionally(new IOException("output ended"));
    }
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  String name() {
    return name;
  }

  /** SIGTERM, up to 15 s for a graceful stop, then SIGKILL. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        kill(process);
      }
      pump.join(2000);
    } catch (InterruptedException e) {
      kill(process);
      Thread.currentThread().interrupt();
    }
    LIVE.remove(process);
  }

  private static void kill(Process p) {
    p.destroyForcibly();
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LIVE.remove(p);
  }
}
