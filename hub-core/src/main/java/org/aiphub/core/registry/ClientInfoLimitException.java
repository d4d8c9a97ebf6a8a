package org.aiphub.core.registry;

/**
 * A registration or a {@code device_info_response} would make the registry cache more than its
 * {@link ClientInfoLimits} allow; nothing was changed. The message names the field, the limit's
 * config key and its value, and quotes nothing the client sent.
 */
public final class ClientInfoLimitException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String limit;

  /** A refusal over {@code limit} (a config key such as {@code max_client_info_bytes}). */
  public ClientInfoLimitException(String limit, String message) {
    // No stack trace: an over-limit registration is routine input, and floods must stay cheap.
    super(message, null, false, false);
    this.limit = limit;
  }

  /** The config key of the limit passed. */
  public String limit() {
    return limit;
  }
}
