package org.aiphub.bench.loadgen;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Forces a GC in a local JVM and reads its heap use with {@code jcmd}. */
final class Jcmd {
  // " garbage-first heap   total 262144K, used 21387K [...", " PSYoungGen  total 76288K, used
  // 2621K"
  private static final Pattern GENERATION =
      Pattern.compile("^ (\\S[^\\n]*?)\\s+total \\d+K, used (\\d+)K", Pattern.MULTILINE);
  // " ZHeap           used 12M, capacity 64M, max capacity 6144M"
  private static final Pattern ZGC = Pattern.compile("ZHeap\\s+used (\\d+)M");
  // Shenandoah: " 6144M max, 256M soft max, 256M committed, 12345K used"
  private static final Pattern SHENANDOAH = Pattern.compile("committed, (\\d+)K used");

  private Jcmd() {}

  static String executable() {
    Path p = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    return Files.isExecutable(p) ? p.toString() : "jcmd";
  }

  /** Runs {@code jcmd PID GC.run} (a full collection for G1, Parallel and Serial). */
  static void gcRun(long pid) {
    run(pid, "GC.run");
  }

  /** Heap bytes in use now, from {@code jcmd PID GC.heap_info}. */
  static long heapUsed(long pid) {
    return parseHeapUsed(run(pid, "GC.heap_info"));
  }

  /** Heap bytes in use, summed over the generations listed by {@code GC.heap_info}. */
  static long parseHeapUsed(String heapInfo) {
    Matcher z = ZGC.matcher(heapInfo);
    if (z.find()) {
      return Long.parseLong(z.group(1)) * 1024 * 1024;
    }
    Matcher s = SHENANDOAH.matcher(heapInfo);
    if (s.find()) {
      return Long.parseLong(s.group(1)) * 1024;
    }
    Matcher m = GENERATION.matcher(heapInfo);
    long usedKiB = 0;
    boolean any = false;
    while (m.find()) {
      String name = m.group(1).trim();
      if (name.startsWith("Metaspace") || name.startsWith("class space")) {
        continue;
      }
      usedKiB += Long.parseLong(m.group(2));
      any = true;
    }
    if (!any) {
      throw new LoadGenException("cannot parse jcmd GC.heap_info output:\n" + heapInfo);
    }
    return usedKiB * 1024;
  }

  private static String run(long pid, String command) {
    try {
      Process p =
          new ProcessBuilder(executable(), Long.toString(pid), command)
              .redirectErrorStream(true)
              .start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new LoadGenException("jcmd " + pid + " " + command + " timed out");
      }
      if (p.exitValue() != 0) {
        throw new LoadGenException(
            "jcmd " + pid + " " + command + " failed (" + p.exitValue() + "): " + out.trim());
      }
      return out;
    } catch (IOException e) {
      throw new LoadGenException("cannot run jcmd: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LoadGenException("interrupted while running jcmd", e);
    }
  }
}
