package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.ALLOWED_HOSTS;
import static org.aiphub.server.config.Settings.ALLOWED_ORIGINS;
import static org.aiphub.server.config.Settings.API_KEY;

import java.util.List;

/**
 * Who may connect: the shared key and the browser origins and {@code Host} names accepted.
 * Validated on construction; {@link #toString()} never shows the key.
 *
 * @param apiKey shared key clients present; {@code null} until start-up generates one
 * @param allowedOrigins browser origins allowed to connect ({@code *} for any)
 * @param allowedHosts {@code Host} header names accepted ({@code *} for any); empty means the
 *     loopback names when bound to loopback, and any name otherwise
 */
public record Security(String apiKey, List<String> allowedOrigins, List<String> allowedHosts) {

  /** Checks the key's length and copies the lists ({@code null}: empty). */
  public Security {
    API_KEY.check(apiKey);
    allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
    allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
  }

  static Security from(HubConfig.Builder b) {
    return new Security(b.get(API_KEY), b.get(ALLOWED_ORIGINS), b.get(ALLOWED_HOSTS));
  }

  /** The lists, and the key as "(hidden)" or "none": configs get logged, keys must not. */
  @Override
  public String toString() {
    return "Security[apiKey="
        + API_KEY.show(apiKey)
        + ", allowedOrigins="
        + allowedOrigins
        + ", allowedHosts="
        + allowedHosts
        + "]";
  }
}
