package org.aiphub.core.session;

import java.util.LinkedHashMap;
import java.util.Map;
import org.aiphub.core.json.JsonFootprint;
import org.aiphub.core.json.JsonValues;

/**
 * How a value the hub keeps only in part is shown: in place of the value, the marker
 *
 * <pre>{@code {"truncated": true, "bytes": N, "preview": "..."}}</pre>
 *
 * where {@code bytes} is the length of the whole value in UTF-8 (a result: its compact JSON text; a
 * request: the text itself) and {@code preview} its first {@link #PREVIEW_CHARS} characters (a
 * result's compact JSON text, a request's text). Only what the hub keeps for later (a session's
 * history record) is ever truncated: a result goes to an online owner whole, and a held outcome is
 * kept whole or not at all.
 */
public final class Truncation {
  /** Characters of the value a marker keeps. */
  public static final int PREVIEW_CHARS = 1024;

  private Truncation() {}

  /** The marker for a value of {@code bytes} bytes whose beginning is {@code preview}. */
  public static Map<String, Object> marker(long bytes, String preview) {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("truncated", Boolean.TRUE);
    m.put("bytes", bytes);
    m.put("preview", JsonFootprint.cut(preview, PREVIEW_CHARS));
    return JsonValues.adopt(m);
  }

  /** The marker for a JSON value of {@code jsonBytes} bytes of compact JSON. */
  public static Map<String, Object> ofValue(Object value, long jsonBytes) {
    return marker(jsonBytes, JsonFootprint.preview(value, PREVIEW_CHARS));
  }

  /** How a session's request is shown: the text, or the marker when it was kept truncated. */
  public static Object request(Session s) {
    return s.requestTruncated() ? marker(s.requestBytes(), s.request()) : s.request();
  }
}
