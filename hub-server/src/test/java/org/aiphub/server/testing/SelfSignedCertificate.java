package org.aiphub.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate for {@code 127.0.0.1} and {@code localhost}, made at test time with the
 * JDK's own {@code keytool} (no key material is checked in), written as the two PEM files the hub's
 * {@code tls_cert} and {@code tls_key} take: the certificate, and the private key in PKCS#8.
 */
public final class SelfSignedCertificate {
  private static final String ALIAS = "hub";
  private static final char[] PASSWORD = "test-only-store".toCharArray();

  private final Path certificatePem;
  private final Path privateKeyPem;
  private final X509Certificate certificate;

  private SelfSignedCertificate(Path cert, Path key, X509Certificate certificate) {
    this.certificatePem = cert;
    this.privateKeyPem = key;
    this.certificate = certificate;
  }

  /** Makes a new key pair and certificate in {@code dir}. */
  public static SelfSignedCertificate create(Path dir) {
    Path store = dir.resolve("hub.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    List<String> command =
        List.of(
            keytool,
            "-genkeypair",
            "-alias",
            ALIAS,
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-sigalg",
            "SHA256withECDSA",
            "-dname",
            "CN=localhost",
            "-ext",
            "SAN=dns:localhost,ip:127.0.0.1",
            "-validity",
            "2",
            "-storetype",
            "PKCS12",
            "-keystore",
            store.toString(),
            "-storepass",
            new String(PASSWORD),
            "-noprompt");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new AssertionError("keytool failed: " + output);
      }
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        ks.load(in, PASSWORD);
      }
      X509Certificate cert = (X509Certificate) ks.getCertificate(ALIAS);
      PrivateKey key = (PrivateKey) ks.getKey(ALIAS, PASSWORD);
      if (!"PKCS#8".equals(key.getFormat())) {
        throw new AssertionError("expected a PKCS#8 key, got " + key.getFormat());
      }
      Path certPem = dir.resolve("hub-cert.pem");
      Path keyPem = dir.resolve("hub-key.pem");
      Files.writeString(certPem, pem("CERTIFICATE", cert.getEncoded()));
      Files.writeString(keyPem, pem("PRIVATE KEY", key.getEncoded()));
      return new SelfSignedCertificate(certPem, keyPem, cert);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String pem(String type, byte[] der) {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  /** The PEM certificate ({@code tls_cert}). */
  public Path certificatePem() {
    return certificatePem;
  }

  /** The PEM PKCS#8 private key ({@code tls_key}). */
  public Path privateKeyPem() {
    return privateKeyPem;
  }

  /** A TLS context that trusts this certificate and nothing else. */
  public SSLContext trustingContext() {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry(ALIAS, certificate);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /** An HTTP/1.1 client (also for WebSockets) that trusts this certificate. */
  public HttpClient trustingClient() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(trustingContext())
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }
}
