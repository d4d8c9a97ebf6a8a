package org.aiphub.bench.loadgen;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * CPU time and memory of a local process from {@code /proc}: {@code utime + stime} of {@code
 * /proc/PID/stat} in clock ticks (all threads, children not included) and {@code VmRSS} / {@code
 * VmHWM} of {@code /proc/PID/status}.
 */
final class ProcStats {
  private static volatile long clkTck;

  private ProcStats() {}

  /** One reading of a process. */
  record Sample(long cpuTicks, long rssBytes, long hwmBytes, long atNanos) {}

  /** Whether {@code /proc} can be read for this pid (Linux, same user, process alive). */
  static boolean available(long pid) {
    return Files.isReadable(Path.of("/proc", Long.toString(pid), "stat"));
  }

  static Sample sample(long pid) {
    long now = System.nanoTime();
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
      return new Sample(
          cpuTicks(stat),
          statusKiB(status, "VmRSS") * 1024,
          statusKiB(status, "VmHWM") * 1024,
          now);
    } catch (IOException e) {
      throw new LoadGenException("cannot read /proc/" + pid + ": " + e.getMessage(), e);
    }
  }

  /** {@code utime + stime} from the text of {@code /proc/PID/stat}. */
  static long cpuTicks(String stat) {
    // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    // f[0] is field 3 (state); utime and stime are fields 14 and 15.
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** A {@code kB} value of {@code /proc/PID/status}, or -1 when the key is missing. */
  static long statusKiB(String status, String key) {
    for (String line : status.split("\n")) {
      if (line.startsWith(key + ":")) {
        String v = line.substring(key.length() + 1).trim();
        int sp = v.indexOf(' ');
        return Long.parseLong(sp < 0 ? v : v.substring(0, sp));
      }
    }
    return -1;
  }

  /**
   * CPU ticks per thread group of a process: threads named alike (trailing digits, '#' and '-'
   * dropped from the kernel's 15-character name, e.g. all "GC Thread#N") are summed.
   */
  static Map<String, Long> threadGroupTicks(long pid) {
    Map<String, Long> groups = new TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String stat = Files.readString(task.resolve("stat"));
          String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          String group = comm.replaceAll("[-#0-9]+$", "");
          groups.merge(group.isEmpty() ? comm : group, cpuTicks(stat), Long::sum);
        } catch (IOException | RuntimeException e) {
          // the thread ended while we looked
        }
      }
    } catch (IOException e) {
      return Map.of();
    }
    return groups;
  }

  /** Clock ticks per second ({@code getconf CLK_TCK}; 100 on Linux when that fails). */
  static long clockTicks() {
    long t = clkTck;
    if (t == 0) {
      t = 100;
      try {
        Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
          out = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        }
        if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 && out.matches("\\d+")) {
          t = Long.parseLong(out);
        }
      } catch (IOException e) {
        // keep the Linux default
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      clkTck = t;
    }
    return t;
  }

  /** CPU microseconds between two samples. */
  static double cpuMicros(Sample from, Sample to) {
    return (to.cpuTicks() - from.cpuTicks()) * 1e6 / clockTicks();
  }

  /** The soft limit on open files of this process, or -1 when unknown. */
  static long openFilesLimit() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          String[] f = line.substring("Max open files".length()).trim().split("\\s+");
          return "unlimited".equals(f[0]) ? Long.MAX_VALUE : Long.parseLong(f[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** File descriptors this process has open now, or -1 when unknown. */
  static long openFiles() {
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      return s.count();
    } catch (IOException e) {
      return -1;
    }
  }
}
