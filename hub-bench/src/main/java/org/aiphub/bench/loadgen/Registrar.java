package org.aiphub.bench.loadgen;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.aiphub.core.aip.ClientMessage;

/**
 * Connects and registers many clients with at most {@code parallel} registrations in flight, and
 * times each one from the start of its TCP connect to its registration reply.
 */
final class Registrar {
  /** One client to open. */
  record Spec(String id, ClientMessage register, ClientBehaviour behaviour) {}

  /**
   * What a batch of registrations gave.
   *
   * @param clients the registered clients, in spec order, without the failed ones
   * @param failed how many failed
   * @param failures the first few failure reasons
   * @param times nanoseconds from connect start to registration reply, per success
   * @param elapsedNanos from the first connect to the last reply
   */
  record Outcome(
      List<WsClient> clients,
      int failed,
      List<String> failures,
      Histogram times,
      long elapsedNanos) {
    double perSecond() {
      return elapsedNanos == 0 ? 0 : clients.size() * 1e9 / elapsedNanos;
    }
  }

  private static final int KEPT_FAILURES = 5;

  private Registrar() {}

  static Outcome registerAll(
      WsClients clients, SourceAddresses sources, List<Spec> specs, int parallel)
      throws InterruptedException {
    Semaphore permits = new Semaphore(parallel);
    WsClient[] done = new WsClient[specs.size()];
    AtomicInteger failed = new AtomicInteger();
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    Recorder times = new Recorder(3);
    long start = System.nanoTime();
    long[] last = {start};
    for (int i = 0; i < specs.size(); i++) {
      Spec s = specs.get(i);
      int index = i;
      permits.acquire();
      clients
          .connect(s.id(), s.register(), sources.next(), s.behaviour())
          .whenComplete(
              (c, e) -> {
                if (e == null) {
                  done[index] = c;
                  times.recordValue(c.registrationNanos());
                } else {
                  failed.incrementAndGet();
                  if (failures.size() < KEPT_FAILURES) {
                    Throwable cause = e instanceof CompletionException ? e.getCause() : e;
                    failures.add(String.valueOf(cause.getMessage()));
                  }
                }
                synchronized (last) {
                  last[0] = Math.max(last[0], System.nanoTime());
                }
                permits.release();
              });
    }
    permits.acquire(parallel);
    permits.release(parallel);
    List<WsClient> ok = new ArrayList<>(specs.size());
    for (WsClient c : done) {
      if (c != null) {
        ok.add(c);
      }
    }
    long elapsed;
    synchronized (last) {
      elapsed = last[0] - start;
    }
    return new Outcome(
        ok, failed.get(), List.copyOf(failures), times.getIntervalHistogram(), elapsed);
  }

  /** Closes clients and waits (bounded) for the sockets to be closed. */
  static void closeAll(List<WsClient> clients) {
    List<io.netty.channel.ChannelFuture> closing = new ArrayList<>(clients.size());
    for (WsClient c : clients) {
      closing.add(c.close());
    }
    for (io.netty.channel.ChannelFuture f : closing) {
      f.awaitUninterruptibly(5_000);
    }
  }
}
