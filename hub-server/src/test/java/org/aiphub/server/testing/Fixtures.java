package org.aiphub.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** The golden AIP frames, copied into this module's test resources. */
public final class Fixtures {
  private Fixtures() {}

  /** A fixture's exact text, trailing newline removed. */
  public static String text(String name) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/aip-fixtures/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + name);
      }
      byte[] b = in.readAllBytes();
      int n = b.length;
      while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) {
        n--;
      }
      return new String(Arrays.copyOf(b, n), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies a fixture file into {@code dir} and returns its path. */
  public static Path copy(String name, Path dir) {
    try {
      Path p = dir.resolve(name);
      Files.writeString(p, text(name) + "\n");
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
