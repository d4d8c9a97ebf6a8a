package org.aiphub.core.registry;

import org.aiphub.core.aip.ClientType;

/**
 * A registration refused because its client id collides (by {@link IdFolds}) with a different id
 * that is online, or that the device config protects with a {@code token_sha256}.
 */
public final class LookAlikeClientException extends DuplicateClientException {
  private static final long serialVersionUID = 1L;

  private final String similarTo;
  private final boolean reserved;

  /**
   * Creates the exception.
   *
   * @param clientId the refused id
   * @param similarTo the id it collides with
   * @param liveType the type of the online client holding {@code similarTo}, or {@code null} when
   *     that id is reserved by the device config and not online
   * @param reserved whether {@code similarTo} is protected by the device config
   * @param message the refusal text
   */
  public LookAlikeClientException(
      String clientId, String similarTo, ClientType liveType, boolean reserved, String message) {
    super(clientId, liveType, message);
    this.similarTo = similarTo;
    this.reserved = reserved;
  }

  /** The id the refused one collides with. */
  public String similarTo() {
    return similarTo;
  }

  /** Whether {@link #similarTo()} is protected by the device config ({@code token_sha256}). */
  public boolean reserved() {
    return reserved;
  }
}
