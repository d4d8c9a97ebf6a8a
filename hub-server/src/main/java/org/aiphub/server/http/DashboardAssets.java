package org.aiphub.server.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * The dashboard page: plain HTML, CSS and JavaScript shipped in hub-server's resources under {@code
 * /dashboard/}, read once and served with a strict Content-Security-Policy. No build step, no CDN:
 * the hub often runs where there is no internet.
 */
public final class DashboardAssets {
  /**
   * Scripts and styles from the hub only, no inline code, no plugins, no framing, fetches to the
   * hub only: a client-supplied string can never become code here.
   */
  public static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private static final Map<String, String[]> FILES =
      Map.of(
          "/", new String[] {"index.html", "text/html; charset=utf-8"},
          "/index.html", new String[] {"index.html", "text/html; charset=utf-8"},
          "/dashboard.js", new String[] {"dashboard.js", "text/javascript; charset=utf-8"},
          "/dashboard.css", new String[] {"dashboard.css", "text/css; charset=utf-8"});

  private final Map<String, String> contents = new java.util.concurrent.ConcurrentHashMap<>();

  /** Whether {@code path} is one of the dashboard's files. */
  public static boolean serves(String path) {
    return FILES.containsKey(path);
  }

  /** The file at {@code path} with its headers, or empty when it is not in the resources. */
  public Optional<ApiResponse> get(String path) {
    String[] file = FILES.get(path);
    if (file == null) {
      return Optional.empty();
    }
    String body = contents.computeIfAbsent(file[0], DashboardAssets::read);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        ApiResponse.text(200, body, file[1])
            .withHeader("Content-Security-Policy", CSP)
            .withHeader("X-Frame-Options", "DENY")
            .withHeader("Referrer-Policy", "no-referrer")
            .withHeader("X-Content-Type-Options", "nosniff"));
  }

  private static String read(String name) {
    try (InputStream in = DashboardAssets.class.getResourceAsStream("/dashboard/" + name)) {
      return in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
