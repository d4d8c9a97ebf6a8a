package org.aiphub.server.cluster;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.aiphub.core.json.JsonValues;

/**
 * A message between hub nodes over Redis: a JSON object with an {@code op} and its fields. Ops sent
 * to one node's channel: {@code frame} (deliver an AIP frame to a local client), {@code task}
 * (start the executing side of a session), {@code outcome} (a session ended on the executing side),
 * {@code cancel} (a session was cancelled on the owning side), {@code close} (close a local
 * client). Ops on the shared events channel: {@code join}, {@code leave}, {@code info}, {@code
 * synced} (a node has re-announced all its clients), {@code node_down}.
 *
 * @param op what the message asks for
 * @param fields its fields (JSON values)
 */
public record ClusterMessage(String op, Map<String, Object> fields) {
  private static final JsonFactory JSON = new JsonFactory();

  /** Freezes the fields. */
  public ClusterMessage {
    fields = JsonValues.freezeObject(fields);
  }

  /** A message with {@code op} and alternating key/value pairs. */
  public static ClusterMessage of(String op, Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return new ClusterMessage(op, m);
  }

  /** A string field, or null. */
  public String string(String key) {
    Object v = fields.get(key);
    return v instanceof String ? (String) v : null;
  }

  /** An integer field, or {@code fallback}. */
  public int integer(String key, int fallback) {
    Object v = fields.get(key);
    return v instanceof Number ? ((Number) v).intValue() : fallback;
  }

  /** An object field, or null. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> object(String key) {
    Object v = fields.get(key);
    return v instanceof Map ? (Map<String, Object>) v : null;
  }

  /** Any field. */
  public Object value(String key) {
    return fields.get(key);
  }

  /** The wire form: {@code {"op": ..., fields...}}. */
  public String encode() {
    StringWriter out = new StringWriter(128);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("op", op);
      for (Map.Entry<String, Object> e : fields.entrySet()) {
        g.writeFieldName(e.getKey());
        JsonValues.write(g, e.getValue());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /**
   * Parses the wire form.
   *
   * @throws IllegalArgumentException when it is not a JSON object with a string {@code op}
   */
  public static ClusterMessage decode(String text) {
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object");
      }
      Map<String, Object> all = new LinkedHashMap<>(JsonValues.readObject(p));
      Object op = all.remove("op");
      if (!(op instanceof String)) {
        throw new IllegalArgumentException("no op");
      }
      return new ClusterMessage((String) op, all);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
    }
  }
}
