package org.aiphub.core.aip;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AipTimestampsTest {
  /** The straightforward formatter the fast path must agree with. */
  private static final DateTimeFormatter REFERENCE =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.UTC);

  @Test
  void formatsLikePythonIsoformatForUtc() {
    Instant t = Instant.parse("2026-11-25T14:30:22.483Z");
    assertThat(AipTimestamps.format(t)).isEqualTo("2026-11-25T14:30:22.483000+00:00");
    assertThat(LocalDateTime.parse("2026-11-25T14:30:22.483000", DateTimeFormatter.ISO_DATE_TIME))
        .isEqualTo(LocalDateTime.ofInstant(t, ZoneOffset.UTC));
  }

  @Test
  void cutsBelowMicrosecondsAndPadsSmallFractions() {
    assertThat(AipTimestamps.format(Instant.ofEpochSecond(0, 999)))
        .isEqualTo("1970-01-01T00:00:00.000000+00:00");
    assertThat(AipTimestamps.format(Instant.ofEpochSecond(0, 1_999)))
        .isEqualTo("1970-01-01T00:00:00.000001+00:00");
    assertThat(AipTimestamps.format(Instant.ofEpochSecond(59, 999_999_999)))
        .isEqualTo("1970-01-01T00:00:59.999999+00:00");
  }

  @Test
  void agreesWithDateTimeFormatterWithinOneSecondAndAcrossSeconds() {
    SplittableRandom r = new SplittableRandom(7);
    long base = Instant.parse("2026-11-25T00:00:00Z").getEpochSecond();
    for (int i = 0; i < 20_000; i++) {
      // Runs of the same second (the cached case) mixed with jumps, back and forth, and dates
      // from 1970 to 2200 (leap years, month ends).
      long second = i % 3 == 0 ? r.nextLong(0, 7_258_118_400L) : base + r.nextInt(3);
      Instant t = Instant.ofEpochSecond(second, r.nextInt(1_000_000_000));
      assertThat(AipTimestamps.format(t)).as("%s", t).isEqualTo(REFERENCE.format(t));
    }
  }

  @Test
  void isSafeToCallFromSeveralThreads() throws Exception {
    Thread[] threads = new Thread[4];
    AssertionError[] failure = new AssertionError[1];
    for (int n = 0; n < threads.length; n++) {
      long offset = n * 86_400L * 400;
      threads[n] =
          new Thread(
              () -> {
                for (int i = 0; i < 50_000; i++) {
                  Instant t = Instant.ofEpochSecond(1_700_000_000L + offset + i % 5, i * 1_000L);
                  String got = AipTimestamps.format(t);
                  if (!got.equals(REFERENCE.format(t))) {
                    failure[0] = new AssertionError(t + " formatted as " + got);
                  }
                }
              });
      threads[n].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(failure[0]).isNull();
  }
}
