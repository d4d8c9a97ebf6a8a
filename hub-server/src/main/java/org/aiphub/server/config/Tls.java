package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.TLS_CERT;
import static org.aiphub.server.config.Settings.TLS_KEY;

import java.nio.file.Path;

/**
 * The certificate and key for {@code wss://} and {@code https://}: both, or neither for plain text.
 *
 * @param cert PEM certificate chain, or {@code null} for plain text
 * @param key PEM private key (PKCS#8) matching {@code cert}, or {@code null}
 */
public record Tls(Path cert, Path key) {

  /** Checks that both or neither are set. */
  public Tls {
    TLS_CERT.check(cert);
    TLS_KEY.check(key);
    if ((cert == null) != (key == null)) {
      throw (cert == null ? TLS_CERT : TLS_KEY)
          .invalid(null, TLS_CERT.key() + " and " + TLS_KEY.key() + " must be set together");
    }
  }

  static Tls from(HubConfig.Builder b) {
    return new Tls(b.get(TLS_CERT), b.get(TLS_KEY));
  }

  /** Whether the hub serves wss:// and https:// (a certificate and key are configured). */
  public boolean enabled() {
    return cert != null;
  }
}
