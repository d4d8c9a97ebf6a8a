package org.aiphub.core.aip;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** The golden AIP frames, copied into this module's test resources. */
public final class Fixtures {
  public static final List<String> CLIENT =
      List.of(
          "client-command-results.json",
          "client-device-info-request.json",
          "client-heartbeat-constellation.json",
          "client-heartbeat.json",
          "client-register-constellation.json",
          "client-register-device.json",
          "client-task-constellation.json",
          "client-task-end-device.json");
  public static final List<String> SERVER =
      List.of(
          "server-command.json",
          "server-device-info-response.json",
          "server-error.json",
          "server-registration-ok.json",
          "server-task-end.json",
          "server-task-to-device.json");

  private Fixtures() {}

  /** The exact bytes of a fixture file, trailing newline removed. */
  public static byte[] bytes(String name) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/aip-fixtures/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + name);
      }
      byte[] b = in.readAllBytes();
      int n = b.length;
      while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) {
        n--;
      }
      return java.util.Arrays.copyOf(b, n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String text(String name) {
    return new String(bytes(name), java.nio.charset.StandardCharsets.UTF_8);
  }
}
