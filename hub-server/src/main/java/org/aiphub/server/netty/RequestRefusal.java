package org.aiphub.server.netty;

/**
 * Why the access checks refused an HTTP request, a WebSocket upgrade or an API call alike, or why
 * the request was refused as malformed before them. The labels are the {@code reason} values of
 * {@code hub_http_refusals_total}.
 */
public enum RequestRefusal {
  /** A {@code Host} the hub does not answer to (DNS rebinding), or none where one is required. */
  BAD_HOST("bad_host"),
  /** A browser {@code Origin} that is not allowed (a cross-site page). */
  BAD_ORIGIN("bad_origin"),
  /** No API key, or a wrong one. */
  BAD_KEY("bad_key"),
  /** An upgrade over its address's {@code registrations_per_address_per_second}. */
  RATE("rate"),
  /**
   * A request the hub cannot route safely, refused with a 400 before any access check: it did not
   * decode, an HTTP/1.1 request without exactly one {@code Host}, a bad percent-escape in its URI,
   * or the AIP path in another spelling ({@code /w%73}). See {@code RequestTarget}.
   */
  BAD_REQUEST("bad_request");

  private final String label;

  RequestRefusal(String label) {
    this.label = label;
  }

  /** The metric label. */
  public String label() {
    return label;
  }
}
