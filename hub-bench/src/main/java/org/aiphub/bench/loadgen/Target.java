package org.aiphub.bench.loadgen;

import java.net.URI;

/** A server under load: where clients connect, and which process to measure, if any. */
interface Target extends AutoCloseable {
  /** Which implementation this is. */
  TargetKind kind();

  /** How it runs, for reports: "spawned, pid 1234", "in-process", "external". */
  String how();

  /** The AIP WebSocket URL, with the token when the server needs one. */
  URI uri();

  /** The server's own process for /proc and jcmd readings, or -1 when there is none to read. */
  long pid();

  /** Whether the server is a JVM (jcmd works on it). */
  default boolean jvm() {
    return kind() != TargetKind.NODE;
  }

  /** Stops the server if this run started it. */
  @Override
  void close();
}
