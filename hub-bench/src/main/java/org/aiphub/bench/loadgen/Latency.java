package org.aiphub.bench.loadgen;

import org.HdrHistogram.Histogram;

/** Percentiles of a latency histogram recorded in nanoseconds, reported in microseconds. */
record Latency(
    long count, double p50, double p90, double p99, double p999, double max, double mean) {
  static Latency of(Histogram h) {
    if (h.getTotalCount() == 0) {
      return new Latency(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    return new Latency(
        h.getTotalCount(),
        us(h.getValueAtPercentile(50)),
        us(h.getValueAtPercentile(90)),
        us(h.getValueAtPercentile(99)),
        us(h.getValueAtPercentile(99.9)),
        us(h.getMaxValue()),
        h.getMean() / 1000.0);
  }

  private static double us(long nanos) {
    return nanos / 1000.0;
  }
}
