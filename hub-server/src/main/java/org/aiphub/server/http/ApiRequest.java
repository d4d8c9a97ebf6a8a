package org.aiphub.server.http;

import java.util.List;
import java.util.Map;

/**
 * An HTTP request as the routes see it.
 *
 * @param method upper-case method, e.g. {@code GET}
 * @param path decoded path without the query
 * @param query decoded query parameters
 * @param body the request body (empty when none)
 */
public record ApiRequest(String method, String path, Map<String, List<String>> query, byte[] body) {
  /**
   * The first value of a query parameter, trimmed, or null when it is absent or blank: a form or
   * script that sends {@code ?state=&client=} means "any", not "the empty string".
   */
  public String param(String name) {
    List<String> v = query.get(name);
    if (v == null || v.isEmpty() || v.get(0).isBlank()) {
      return null;
    }
    return v.get(0).trim();
  }

  /** Every value of a query parameter, comma-separated values split, blanks dropped. */
  public List<String> params(String name) {
    List<String> v = query.get(name);
    if (v == null) {
      return List.of();
    }
    java.util.ArrayList<String> out = new java.util.ArrayList<>();
    for (String s : v) {
      for (String part : s.split(",")) {
        if (!part.isBlank()) {
          out.add(part.trim());
        }
      }
    }
    return out;
  }
}
