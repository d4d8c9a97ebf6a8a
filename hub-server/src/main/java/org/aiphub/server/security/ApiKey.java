package org.aiphub.server.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;

/**
 * The shared API key. Only its SHA-256 digest is kept, and candidates are compared digest to digest
 * with {@link MessageDigest#isEqual}, so the comparison takes the same time whatever the candidate,
 * its length included.
 */
public final class ApiKey {
  private final byte[] digest;

  private ApiKey(String key) {
    this.digest = sha256(Objects.requireNonNull(key, "key"));
  }

  /** Wraps a configured key. */
  public static ApiKey of(String key) {
    return new ApiKey(key);
  }

  /** A fresh random key: 32 bytes from {@link SecureRandom}, URL-safe base64. */
  public static String generate() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Whether {@code candidate} is the key; {@code null} never is. */
  public boolean matches(String candidate) {
    if (candidate == null) {
      return false;
    }
    return MessageDigest.isEqual(digest, sha256(candidate));
  }

  /**
   * Whether {@code candidateDigest} is the SHA-256 digest of the key, compared in constant time.
   */
  boolean matchesDigest(byte[] candidateDigest) {
    return MessageDigest.isEqual(digest, candidateDigest);
  }

  /**
   * Whether the keys a request presents let it in: at least one non-empty key, and every non-empty
   * one is the key. An empty value counts as absent (an empty {@code ?token=} beside a valid
   * header); two different keys are refused whichever of them is right, so no order among the
   * places a key can be sent decides anything.
   *
   * @param presented every key the request carries, in any order ({@code null}s and empty strings
   *     are absent keys)
   */
  public boolean acceptsAll(Iterable<String> presented) {
    boolean any = false;
    for (String candidate : presented) {
      if (candidate == null || candidate.isEmpty()) {
        continue;
      }
      if (!matches(candidate)) {
        return false;
      }
      any = true;
    }
    return any;
  }

  /** Never prints the key. */
  @Override
  public String toString() {
    return "ApiKey(hidden)";
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
