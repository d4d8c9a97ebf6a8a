package org.aiphub.server.http;

import java.util.Map;

/**
 * An HTTP answer before it is written: a status and either a JSON value or a text body.
 *
 * @param status HTTP status code
 * @param json the JSON body (a JSON value), or null for a text body
 * @param text the text body when {@code json} is null
 * @param contentType content type of a text body
 * @param headers extra response headers
 */
public record ApiResponse(
    int status, Object json, String text, String contentType, Map<String, String> headers) {
  /** Copies the headers. */
  public ApiResponse {
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }

  /** A JSON answer. */
  public static ApiResponse json(int status, Object body) {
    return new ApiResponse(status, body, null, null, null);
  }

  /** {@code {"error": message}}. */
  public static ApiResponse error(int status, String message) {
    return json(status, Map.of("error", message));
  }

  /** A plain-text answer. */
  public static ApiResponse text(int status, String body, String contentType) {
    return new ApiResponse(status, null, body, contentType, null);
  }

  /** The same answer with one more header. */
  public ApiResponse withHeader(String name, String value) {
    Map<String, String> h = new java.util.HashMap<>(headers);
    h.put(name, value);
    return new ApiResponse(status, json, text, contentType, h);
  }
}
