package org.aiphub.bench.loadgen;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The books of one open-loop run. Task {@code i} is due at {@code start + i / rate}; the first
 * {@code warmup} tasks are the warm-up and stay out of the latency histograms and the measured
 * counts. Every task is accounted for exactly once: completed, failed (a failed {@code task_end} or
 * an error frame naming its session), or missing at the end.
 *
 * <p>Latency is recorded from the <em>scheduled</em> send time, so time a task spent waiting behind
 * a slow server (or a late sender) counts, and from the actual send time as a diagnostic. All
 * recording is wait-free ({@link Recorder}) and safe from any event-loop thread.
 */
final class TaskLedger {
  private static final long DONE = Long.MIN_VALUE;
  private static final int KEPT_ERRORS = 5;

  private final long total;
  private final long warmup;
  private final double nanosPerTask;
  private final AtomicLongArray sendNanos;
  private volatile long startNanos;
  private volatile boolean closing;

  private final Recorder fromSchedule = new Recorder(3);
  private final Recorder fromSend = new Recorder(3);
  private final Recorder sendLag = new Recorder(3);

  private final LongAdder sent = new LongAdder();
  private final LongAdder completed = new LongAdder();
  private final LongAdder warmupSent = new LongAdder();
  private final LongAdder warmupCompleted = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder errorFrames = new LongAdder();
  private final LongAdder acks = new LongAdder();
  private final LongAdder duplicates = new LongAdder();
  private final LongAdder unknown = new LongAdder();
  private final LongAdder undecodable = new LongAdder();
  private final LongAdder disconnects = new LongAdder();
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong lastCompletion = new AtomicLong();
  private final List<String> errorSamples = Collections.synchronizedList(new ArrayList<>());

  TaskLedger(long warmup, long measured, double rate) {
    if (warmup < 0 || measured <= 0 || warmup + measured > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("bad task counts " + warmup + " + " + measured);
    }
    if (!(rate > 0)) {
      throw new IllegalArgumentException("rate must be positive");
    }
    this.warmup = warmup;
    this.total = warmup + measured;
    this.nanosPerTask = 1e9 / rate;
    this.sendNanos = new AtomicLongArray((int) total);
  }

  long total() {
    return total;
  }

  long warmup() {
    return warmup;
  }

  /** Fixes the schedule: task 0 is due at {@code nanos}. */
  void start(long nanos) {
    startNanos = nanos;
  }

  /** When task {@code i} is due ({@link System#nanoTime()} scale). */
  long scheduled(long i) {
    return startNanos + (long) (i * nanosPerTask);
  }

  /** From now on disconnects are the run's own teardown, not errors. */
  void closing() {
    closing = true;
  }

  void sent(long i, long nowNanos) {
    sendNanos.set((int) i, nowNanos);
    if (i >= warmup) {
      sendLag.recordValue(Math.max(0, nowNanos - scheduled(i)));
      sent.increment();
    } else {
      warmupSent.increment();
    }
  }

  /** A {@code task_end} arrived for task {@code seq} (-1 when its session id is not ours). */
  void taskEnd(long seq, boolean ok, String error, long nowNanos) {
    if (seq < 0 || seq >= total) {
      unknown.increment();
      sample("task_end for an unknown session");
      return;
    }
    long sentAt = sendNanos.getAndSet((int) seq, DONE);
    if (sentAt == DONE) {
      duplicates.increment();
      sample("second result for task " + seq);
      return;
    }
    done.incrementAndGet();
    if (!ok) {
      failed.increment();
      sample("task " + seq + " failed: " + error);
      return;
    }
    if (seq < warmup) {
      warmupCompleted.increment();
      return;
    }
    completed.increment();
    fromSchedule.recordValue(Math.max(0, nowNanos - scheduled(seq)));
    fromSend.recordValue(Math.max(0, nowNanos - sentAt));
    lastCompletion.accumulateAndGet(nowNanos, Math::max);
  }

  /** An error frame arrived; when it names one of our sessions, that task is failed. */
  void errorFrame(String sessionId, String error) {
    errorFrames.increment();
    sample("error frame" + (sessionId == null ? "" : " for " + sessionId) + ": " + error);
    long seq = Frames.seq(sessionId);
    if (seq >= 0 && seq < total && sendNanos.getAndSet((int) seq, DONE) != DONE) {
      done.incrementAndGet();
    }
  }

  void ack() {
    acks.increment();
  }

  void undecodable(String problem) {
    undecodable.increment();
    sample("undecodable frame: " + problem);
  }

  void disconnected(String clientId) {
    if (!closing) {
      disconnects.increment();
      sample(clientId + " disconnected during the run");
    }
  }

  private void sample(String s) {
    if (errorSamples.size() < KEPT_ERRORS) {
      errorSamples.add(s);
    }
  }

  /** Tasks sent that have neither a result nor an error yet. */
  long outstanding() {
    return sent.sum() + warmupSent.sum() - done.get();
  }

  long lastCompletionNanos() {
    return lastCompletion.get();
  }

  /** The counts now; call once the run is over. */
  Counts counts() {
    long missing = outstanding();
    return new Counts(
        sent.sum(),
        completed.sum(),
        warmupSent.sum(),
        warmupCompleted.sum(),
        failed.sum(),
        errorFrames.sum(),
        missing,
        duplicates.sum() + unknown.sum() + undecodable.sum() + disconnects.sum(),
        acks.sum(),
        List.copyOf(errorSamples));
  }

  Histogram latencyFromSchedule() {
    return fromSchedule.getIntervalHistogram();
  }

  Histogram latencyFromSend() {
    return fromSend.getIntervalHistogram();
  }

  Histogram sendLag() {
    return sendLag.getIntervalHistogram();
  }

  /**
   * Task counts of a run.
   *
   * @param sent measured tasks sent
   * @param completed measured tasks completed
   * @param warmupSent warm-up tasks sent
   * @param warmupCompleted warm-up tasks completed
   * @param failed tasks whose task_end said failed
   * @param errorFrames error frames received by any client
   * @param missing tasks with no result and no error when the run ended
   * @param other duplicate or unknown results, undecodable frames, clients lost during the run
   * @param acks task acknowledgements received (the hub and the Node relay send them)
   * @param errorSamples the first few problems, described
   */
  record Counts(
      long sent,
      long completed,
      long warmupSent,
      long warmupCompleted,
      long failed,
      long errorFrames,
      long missing,
      long other,
      long acks,
      List<String> errorSamples) {
    long errors() {
      return failed + errorFrames + missing + other;
    }
  }
}
