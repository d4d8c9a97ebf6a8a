package org.aiphub.server.netty;

import org.aiphub.server.http.ApiResponse;
import org.aiphub.server.security.AccessKeys;

/**
 * The CORS headers of API answers to browser pages of an allowed origin ({@code allowed_origins};
 * the origin check itself is {@link org.aiphub.server.security.OriginPolicy}'s). The key travels in
 * a header, never in a cookie, so credentials are not allowed and no page gets more than the key it
 * holds can already fetch.
 */
final class CorsHeaders {
  /** Methods the API answers. */
  static final String METHODS = "GET, POST";

  /**
   * Request headers a page may send: the headers {@link AccessKeys} reads a key from, and a JSON
   * body's type.
   */
  static final String HEADERS = String.join(", ", AccessKeys.HTTP_KEY_HEADERS) + ", Content-Type";

  /** How long a browser may cache a preflight answer, in seconds. */
  static final String MAX_AGE = "600";

  private CorsHeaders() {}

  /** The answer to a preflight ({@code OPTIONS} with {@code Access-Control-Request-Method}). */
  static ApiResponse preflight(String origin) {
    return allow(origin, ApiResponse.text(204, "", "text/plain; charset=utf-8"))
        .withHeader("Access-Control-Allow-Methods", METHODS)
        .withHeader("Access-Control-Allow-Headers", HEADERS)
        .withHeader("Access-Control-Max-Age", MAX_AGE);
  }

  /** {@code r} readable by a page of {@code origin} (an allowed one), or {@code r} when none. */
  static ApiResponse allow(String origin, ApiResponse r) {
    if (origin == null) {
      return r;
    }
    // The origin is echoed, not "*": answers differ per origin, hence Vary.
    return r.withHeader("Access-Control-Allow-Origin", origin.trim()).withHeader("Vary", "Origin");
  }
}
