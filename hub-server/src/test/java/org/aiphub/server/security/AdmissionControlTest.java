package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.aiphub.server.security.AdmissionControl.Verdict;
import org.junit.jupiter.api.Test;

class AdmissionControlTest {
  private static final InetAddress A = InetAddress.getLoopbackAddress();

  @Test
  void capsOpenSocketsAndSocketsPerAddress() throws Exception {
    InetAddress b = InetAddress.getByName("127.0.0.2");
    AdmissionControl control = new AdmissionControl(3, 2, 0, System::nanoTime);

    assertThat(control.admit(A)).isEqualTo(Verdict.ADMIT);
    assertThat(control.admit(A)).isEqualTo(Verdict.ADMIT);
    assertThat(control.admit(A)).isEqualTo(Verdict.TOO_MANY_FROM_ADDRESS);
    assertThat(control.admit(b)).isEqualTo(Verdict.ADMIT);
    assertThat(control.admit(b)).isEqualTo(Verdict.TOO_MANY_CONNECTIONS);
    assertThat(control.open()).isEqualTo(3);

    control.release(A);
    assertThat(control.admit(A)).isEqualTo(Verdict.ADMIT);
    assertThat(control.open()).isEqualTo(3);
  }

  @Test
  void upgradeRateIsATokenBucketPerAddress() throws Exception {
    AtomicLong now = new AtomicLong();
    AdmissionControl control = new AdmissionControl(100, 0, 2, now::get);
    InetAddress b = InetAddress.getByName("127.0.0.2");

    assertThat(control.allowUpgrade(A)).isTrue();
    assertThat(control.allowUpgrade(A)).isTrue();
    assertThat(control.allowUpgrade(A)).isFalse();
    assertThat(control.allowUpgrade(b)).isTrue();

    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(500));
    assertThat(control.allowUpgrade(A)).isTrue();
    assertThat(control.allowUpgrade(A)).isFalse();
  }

  /**
   * Sockets of one address come and go on several threads (as they do on several event loops); the
   * number admitted and not yet released must never pass the per-address cap, and once all are gone
   * nothing may stay counted. A counter bumped outside the map's compute() let a release of the
   * address's last socket drop the counter a concurrent admit was about to use, which this catches.
   */
  @Test
  void perAddressCapHoldsWhileSocketsComeAndGoConcurrently() throws Exception {
    int cap = 1;
    AdmissionControl control = new AdmissionControl(1_000, cap, 0, System::nanoTime);
    AtomicInteger live = new AtomicInteger();
    AtomicInteger mostLive = new AtomicInteger();
    AtomicInteger admitted = new AtomicInteger();
    int threads = 2;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        runs.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < 2_000_000; i++) {
                    if (control.admit(A) == Verdict.ADMIT) {
                      admitted.incrementAndGet();
                      mostLive.accumulateAndGet(live.incrementAndGet(), Math::max);
                      live.decrementAndGet();
                      control.release(A);
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> run : runs) {
        run.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(admitted.get()).as("the generator admitted sockets at all").isPositive();
    assertThat(mostLive.get()).as("most sockets of one address at once").isLessThanOrEqualTo(cap);
    assertThat(control.open()).isZero();
    assertThat(control.admit(A)).isEqualTo(Verdict.ADMIT);
    assertThat(control.admit(A)).isEqualTo(Verdict.TOO_MANY_FROM_ADDRESS);
  }
}
