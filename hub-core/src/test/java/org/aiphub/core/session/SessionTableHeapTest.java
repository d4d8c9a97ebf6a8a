package org.aiphub.core.session;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.function.IntFunction;
import org.aiphub.core.json.JsonValues;
import org.junit.jupiter.api.Test;

/**
 * The table's byte accounting against measured heap: it fills a table with sessions whose results
 * the JSON parser built (as the codec does, sharing what it shares), measures how much heap they
 * retain after full collections, and compares that with {@link SessionTable#keptBytes()}. The
 * estimate must not fall short of the heap by much (a budget bounds real memory) nor overshoot it
 * wildly (a budget should hold roughly what it says).
 */
class SessionTableHeapTest {
  private static final JsonFactory JSON = new JsonFactory();
  private static final int SESSIONS = 2000;

  @Test
  void aLargeStringResult() {
    String filler = "y".repeat(10_000);
    check("10 KB string", i -> "\"" + i + filler + "\"");
  }

  @Test
  void anObjectWithManyFields() {
    check(
        "object of 100 fields",
        i -> {
          StringBuilder b = new StringBuilder("{");
          for (int f = 0; f < 100; f++) {
            b.append(f == 0 ? "" : ",")
                .append("\"field_")
                .append(f)
                .append("\":\"value ")
                .append(i)
                .append('-')
                .append(f)
                .append('"');
          }
          return b.append('}').toString();
        });
  }

  @Test
  void anArrayOfSmallRecords() {
    check(
        "array of 100 rows",
        i -> {
          StringBuilder b = new StringBuilder("[");
          for (int r = 0; r < 100; r++) {
            b.append(r == 0 ? "" : ",")
                .append("{\"id\":")
                .append(i * 1000 + r)
                .append(",\"name\":\"row ")
                .append(i)
                .append('.')
                .append(r)
                .append("\",\"ok\":true,\"score\":")
                .append(r * 1.5)
                .append('}');
          }
          return b.append(']').toString();
        });
  }

  private static void check(String shape, IntFunction<String> resultJson) {
    SessionTable table = new SessionTable(SESSIONS * 2, Duration.ofHours(1), Clock.systemUTC());
    long before = usedAfterGc();
    for (int i = 0; i < SESSIONS; i++) {
      Session s = reserve(table, i);
      table.finish(s, SessionState.COMPLETED, parse(resultJson.apply(i)), null);
    }
    long measured = usedAfterGc() - before;
    long accounted = table.keptBytes();
    double ratio = (double) accounted / measured;
    System.out.printf(
        "%s: measured %d bytes/session, accounted %d (ratio %.2f)%n",
        shape, measured / SESSIONS, accounted / SESSIONS, ratio);
    assertThat(ratio).as("%s: accounted/measured", shape).isBetween(0.85, 2.5);
    assertThat(table.historySize()).isEqualTo(SESSIONS); // keeps the table reachable until here
  }

  private static Session reserve(SessionTable table, int i) {
    try {
      return table
          .reserve("session-" + i, "owner-" + (i % 10), "device-" + (i % 7), "task", "do " + i)
          .session();
    } catch (SessionConflictException | SessionBudgetException e) {
      throw new AssertionError(e);
    }
  }

  private static Object parse(String json) {
    try (JsonParser p = JSON.createParser(json)) {
      p.nextToken();
      return JsonValues.read(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long usedAfterGc() {
    Runtime rt = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      used = Math.min(used, rt.totalMemory() - rt.freeMemory());
    }
    return used;
  }
}
