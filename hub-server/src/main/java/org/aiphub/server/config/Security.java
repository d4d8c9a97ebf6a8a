package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.ADMIN_KEY;
import static org.aiphub.server.config.Settings.ALLOWED_HOSTS;
import static org.aiphub.server.config.Settings.ALLOWED_ORIGINS;
import static org.aiphub.server.config.Settings.API_KEY;

import java.util.List;

/**
 * Who may connect: the shared client key, the operator key, and the browser origins and {@code
 * Host} names accepted. Validated on construction; {@link #toString()} never shows a key.
 *
 * @param apiKey shared key clients present; {@code null} until start-up generates one
 * @param adminKey operator key for the HTTP API, {@code /metrics} and the dashboard; {@code null}:
 *     the client key serves both (and the hub warns at start-up)
 * @param allowedOrigins browser origins allowed to connect ({@code *} for any)
 * @param allowedHosts {@code Host} header names accepted ({@code *} for any); empty means the
 *     loopback names when bound to loopback, and any name otherwise
 */
public record Security(
    String apiKey, String adminKey, List<String> allowedOrigins, List<String> allowedHosts) {

  /**
   * Checks the keys' lengths and that they differ (the operator key must not be the one every
   * client holds), and copies the lists ({@code null}: empty).
   */
  public Security {
    API_KEY.check(apiKey);
    ADMIN_KEY.check(adminKey);
    if (adminKey != null && adminKey.equals(apiKey)) {
      throw ADMIN_KEY.invalid(
          adminKey,
          "must differ from api_key: the operator key must not be the key every client holds");
    }
    allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
    allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
  }

  static Security from(HubConfig.Builder b) {
    return new Security(
        b.get(API_KEY), b.get(ADMIN_KEY), b.get(ALLOWED_ORIGINS), b.get(ALLOWED_HOSTS));
  }

  /** The lists, and the keys as "(hidden)" or "none": configs get logged, keys must not. */
  @Override
  public String toString() {
    return "Security[apiKey="
        + API_KEY.show(apiKey)
        + ", adminKey="
        + ADMIN_KEY.show(adminKey)
        + ", allowedOrigins="
        + allowedOrigins
        + ", allowedHosts="
        + allowedHosts
        + "]";
  }
}
