package org.aiphub.core.registry;

import org.aiphub.core.aip.ClientType;

/**
 * A registration refused because its client id is already online ({@link LookAlikeClientException}:
 * because it is too like another id).
 */
public class DuplicateClientException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String clientId;
  private final transient ClientType liveType;

  /** Creates the exception for {@code clientId}, held by a live client of {@code liveType}. */
  public DuplicateClientException(String clientId, ClientType liveType, String message) {
    super(message, null, false, false);
    this.clientId = clientId;
    this.liveType = liveType;
  }

  /** The id that is taken. */
  public String clientId() {
    return clientId;
  }

  /** The type of the client holding the id. */
  public ClientType liveType() {
    return liveType;
  }
}
