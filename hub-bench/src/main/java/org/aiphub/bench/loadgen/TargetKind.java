package org.aiphub.bench.loadgen;

import java.util.Locale;

/** The servers the load generator can drive with the same clients. */
enum TargetKind {
  /** The AIP hub (hub-server). */
  HUB("hub"),
  /** {@link org.aiphub.bench.baseline.FloorRelay}: a bare Netty relay, the floor. */
  FLOOR("floor"),
  /** hub-bench/baselines/node-relay: a Node.js {@code ws} relay. */
  NODE("node");

  private final String label;

  TargetKind(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }

  /** Accepts "hub", "floor", "node" in any case. */
  static TargetKind parse(String s) {
    for (TargetKind k : values()) {
      if (k.label.equals(s.trim().toLowerCase(Locale.ROOT))) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown target '" + s + "' (hub, floor or node)");
  }
}
