package org.aiphub.bench.loadgen;

import io.netty.channel.EventLoop;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Sends the tasks of an open-loop run on schedule: task {@code i} goes out at {@code start + i /
 * rate} whatever happened to earlier tasks, by constellation {@code i mod M} to device {@code i mod
 * N}. A sender that falls behind sends everything due at once; the delay shows in the latency,
 * which is measured from the schedule.
 *
 * <p>It runs as a self-rescheduling task on the first constellation's event loop (native epoll
 * timers have microsecond resolution), so a send needs no thread hand-off or wake-up: the client
 * side stays cheap at thousands of tasks per second.
 */
final class Pacer implements Runnable {
  private final TaskLedger ledger;
  private final List<WsClient> constellations;
  private final List<String> devices;
  private final Runnable atMeasureStart;
  private final EventLoop loop;
  private final CountDownLatch finished = new CountDownLatch(1);
  private volatile boolean stopped;
  private long next;

  /**
   * @param atMeasureStart runs (on the event loop) right before the first measured task is sent
   */
  Pacer(
      TaskLedger ledger,
      List<WsClient> constellations,
      List<String> devices,
      Runnable atMeasureStart) {
    this.ledger = ledger;
    this.constellations = constellations;
    this.devices = devices;
    this.atMeasureStart = atMeasureStart;
    this.loop = constellations.get(0).channel().eventLoop();
  }

  /** Fixes the schedule (first task 1 ms from now) and starts sending. */
  void start() {
    ledger.start(System.nanoTime() + 1_000_000);
    loop.execute(this);
  }

  /** Waits until every task was sent, or the pacer was stopped. */
  void await() throws InterruptedException {
    finished.await();
  }

  void stop() {
    stopped = true;
    loop.execute(finished::countDown);
  }

  @Override
  public void run() {
    int m = constellations.size();
    int n = devices.size();
    long total = ledger.total();
    long now = System.nanoTime();
    while (next < total && !stopped && ledger.scheduled(next) <= now) {
      if (next == ledger.warmup()) {
        atMeasureStart.run();
      }
      WsClient c = constellations.get((int) (next % m));
      String device = devices.get((int) (next % n));
      var frame = c.frame(Frames.task(c.id(), device, next));
      ledger.sent(next, System.nanoTime());
      c.channel().writeAndFlush(frame, c.channel().voidPromise());
      next++;
      now = System.nanoTime();
    }
    if (next >= total || stopped) {
      finished.countDown();
      return;
    }
    loop.schedule(this, ledger.scheduled(next) - System.nanoTime(), TimeUnit.NANOSECONDS);
  }
}
