package org.aiphub.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The golden AIP frames, packaged in the benchmark jar under {@code aip-fixtures/} (copies of the
 * shared fixtures), so a benchmark run never depends on a checkout or a working directory.
 */
public final class Fixtures {
  private Fixtures() {}

  /** The bytes of one fixture file, e.g. {@code client-task-constellation.json}. */
  public static byte[] bytes(String name) {
    String path = "aip-fixtures/" + name;
    try (InputStream in = Fixtures.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + path + " on the class path");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read fixture " + path, e);
    }
  }
}
