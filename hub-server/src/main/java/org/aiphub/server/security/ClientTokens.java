package org.aiphub.server.security;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Per-client credentials: a device config entry may carry {@code token_sha256}, the SHA-256 (hex)
 * of a token that a client registering with that id must present as {@code metadata.auth_token}. So
 * one device cannot impersonate another even though both know the shared key.
 */
public final class ClientTokens {
  /** The metadata field carrying the token; removed before metadata is stored anywhere. */
  public static final String METADATA_FIELD = "auth_token";

  private ClientTokens() {}

  /**
   * Whether {@code token}'s SHA-256 equals {@code expectedHex}, compared in constant time. A {@code
   * null} token never matches.
   */
  public static boolean matches(String token, String expectedHex) {
    if (token == null || expectedHex == null) {
      return false;
    }
    byte[] expected;
    try {
      expected = HexFormat.of().parseHex(expectedHex);
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(expected, ApiKey.sha256(token));
  }

  /** The lower-case hex SHA-256 of a token, as {@code token_sha256} expects it. */
  public static String sha256Hex(String token) {
    return HexFormat.of().formatHex(ApiKey.sha256(token));
  }
}
