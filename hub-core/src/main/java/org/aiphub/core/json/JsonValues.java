package org.aiphub.core.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.NumberOutput;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Immutable JSON values as plain Java objects.
 *
 * <p>A JSON value is {@code null}, a {@link String}, a {@link Boolean}, a {@link Number} ({@link
 * Integer}, {@link Long}, {@link BigInteger}, {@link Double} or {@link BigDecimal}), a {@code
 * List<Object>} of JSON values, or a {@code Map<String, Object>} of JSON values. Every list and map
 * returned by this class is read-only and keeps insertion order, so values can be shared between
 * threads and cached in the registry without defensive copies.
 */
public final class JsonValues {
  private JsonValues() {}

  /** The shared empty read-only JSON object. */
  public static Map<String, Object> emptyObject() {
    return FrozenMap.EMPTY;
  }

  /**
   * Returns a deep read-only copy of a JSON value; values already frozen by this class are returned
   * as they are.
   *
   * @throws IllegalArgumentException if the value (or something inside it) is not a JSON value
   */
  public static Object freeze(Object value) {
    if (value == null
        || value instanceof String
        || value instanceof Boolean
        || value instanceof FrozenMap
        || value instanceof FrozenList) {
      return value;
    }
    if (value instanceof Number) {
      return freezeNumber((Number) value);
    }
    if (value instanceof Map) {
      return freezeObject((Map<?, ?>) value);
    }
    if (value instanceof Collection) {
      ArrayList<Object> copy = new ArrayList<>(((Collection<?>) value).size());
      for (Object element : (Collection<?>) value) {
        copy.add(freeze(element));
      }
      return FrozenList.wrap(copy);
    }
    throw new IllegalArgumentException(
        "not a JSON value: " + value.getClass().getName() + " instance");
  }

  /**
   * Deep read-only copy of a JSON object; {@code null} stays {@code null}.
   *
   * @throws IllegalArgumentException if a key is not a string or a value is not a JSON value
   */
  public static Map<String, Object> freezeObject(Map<?, ?> map) {
    if (map == null || map instanceof FrozenMap) {
      @SuppressWarnings("unchecked")
      Map<String, Object> same = (Map<String, Object>) map;
      return same;
    }
    LinkedHashMap<String, Object> copy = new LinkedHashMap<>(Math.max(4, map.size() * 2));
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof String)) {
        throw new IllegalArgumentException("JSON object keys must be strings: " + e.getKey());
      }
      copy.put((String) e.getKey(), freeze(e.getValue()));
    }
    return FrozenMap.wrap(copy);
  }

  /** Deep read-only copy of a list of strings; {@code null} stays {@code null}. */
  public static List<String> freezeStrings(Collection<String> strings) {
    if (strings == null) {
      return null;
    }
    for (String s : strings) {
      if (s == null) {
        throw new IllegalArgumentException("null element in a list of strings");
      }
    }
    return List.copyOf(strings);
  }

  /**
   * A mutable, insertion-ordered copy of the top level of a JSON object (nested values stay
   * frozen), for building a derived object.
   */
  public static LinkedHashMap<String, Object> mutableCopy(Map<String, Object> map) {
    if (map == null) {
      return new LinkedHashMap<>();
    }
    if (map instanceof FrozenMap) {
      return ((FrozenMap) map).mutableCopy();
    }
    LinkedHashMap<String, Object> copy = new LinkedHashMap<>();
    map.forEach((k, v) -> copy.put(k, freeze(v)));
    return copy;
  }

  /** Freezes a map built by the caller, taking ownership of it (no copy of the top level). */
  public static Map<String, Object> adopt(LinkedHashMap<String, Object> owned) {
    owned.replaceAll((k, v) -> freeze(v));
    return FrozenMap.wrap(owned);
  }

  /**
   * Reads the JSON value that starts at the parser's current token into frozen Java objects. Depth
   * and size limits are the parser's {@code StreamReadConstraints}.
   */
  public static Object read(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == null) {
      throw new IllegalStateException("parser has no current token");
    }
    switch (t) {
      case START_OBJECT:
        return readObjectBody(p);
      case START_ARRAY:
        {
          ArrayList<Object> list = new ArrayList<>();
          while (p.nextToken() != JsonToken.END_ARRAY) {
            list.add(read(p));
          }
          return FrozenList.wrap(list);
        }
      case VALUE_STRING:
        return StringCache.share(p.getText());
      case VALUE_NUMBER_INT:
        switch (p.getNumberType()) {
          case INT:
            return p.getIntValue();
          case LONG:
            return p.getLongValue();
          default:
            return p.getBigIntegerValue();
        }
      case VALUE_NUMBER_FLOAT:
        return readDecimal(p);
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return null;
      default:
        throw new IllegalStateException("unexpected token " + t);
    }
  }

  /**
   * A number with a fraction or an exponent, kept as written: a {@link Double} when {@link #write}
   * gives back the number written, else a {@link BigDecimal} with the digits and exponent written
   * ({@code 1e-999999} must not become 0.0, nor {@code 1e400} infinity, nor {@code
   * 3.14159265358979323846} lose digits). Up to 15 significant digits within the normal range a
   * double always holds the number exactly; beyond, the double's shortest text is compared with the
   * number.
   */
  private static Object readDecimal(JsonParser p) throws IOException {
    int digits = significantDigits(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
    double d = p.getDoubleValue();
    boolean normal = Double.isFinite(d) && Math.abs(d) >= Double.MIN_NORMAL;
    if (digits == 0 || digits <= 15 && normal) {
      return d;
    }
    BigDecimal written;
    try {
      written = p.getDecimalValue();
    } catch (NumberFormatException e) {
      // BigDecimal's scale is an int, so 1e2147483648 cannot be held at all.
      throw new StreamConstraintsException("number exponent out of range");
    }
    if (Double.isFinite(d)
        && d != 0
        && new BigDecimal(NumberOutput.toString(d, true)).compareTo(written) == 0) {
      return d; // e.g. 0.30000000000000004: exactly what the double writes
    }
    return written;
  }

  /**
   * The significant digits of a JSON number's text: those of its mantissa from the first non-zero
   * one to the last ({@code 0.00120} has 2, {@code 1.5e300} 2, {@code 0.0} none).
   */
  static int significantDigits(char[] text, int offset, int length) {
    int first = -1;
    int last = -1;
    int index = 0;
    for (int i = offset, end = offset + length; i < end; i++) {
      char c = text[i];
      if (c == 'e' || c == 'E') {
        break;
      }
      if (c >= '0' && c <= '9') {
        if (c != '0') {
          if (first < 0) {
            first = index;
          }
          last = index;
        }
        index++;
      }
    }
    return first < 0 ? 0 : last - first + 1;
  }

  /** Reads the object whose START_OBJECT is the parser's current token. */
  public static Map<String, Object> readObject(JsonParser p) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new IllegalStateException("parser is not at the start of an object");
    }
    return readObjectBody(p);
  }

  private static Map<String, Object> readObjectBody(JsonParser p) throws IOException {
    LinkedHashMap<String, Object> map = new LinkedHashMap<>();
    String name;
    while ((name = p.nextFieldName()) != null) {
      p.nextToken();
      map.put(name, read(p));
    }
    return FrozenMap.wrap(map);
  }

  /** Writes a JSON value (frozen or not) with the generator. */
  public static void write(JsonGenerator g, Object value) throws IOException {
    if (value == null) {
      g.writeNull();
    } else if (value instanceof String) {
      g.writeString((String) value);
    } else if (value instanceof Map) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        g.writeFieldName(String.valueOf(e.getKey()));
        write(g, e.getValue());
      }
      g.writeEndObject();
    } else if (value instanceof List) {
      List<?> list = (List<?>) value;
      g.writeStartArray();
      for (int i = 0, n = list.size(); i < n; i++) {
        write(g, list.get(i));
      }
      g.writeEndArray();
    } else if (value instanceof Collection) {
      g.writeStartArray();
      for (Object element : (Collection<?>) value) {
        write(g, element);
      }
      g.writeEndArray();
    } else if (value instanceof Boolean) {
      g.writeBoolean((Boolean) value);
    } else if (value instanceof Integer) {
      g.writeNumber((Integer) value);
    } else if (value instanceof Long) {
      g.writeNumber((Long) value);
    } else if (value instanceof Double) {
      double d = (Double) value;
      if (Double.isFinite(d)) {
        // The shortest text that reads back as this double (Schubfach), which for a number read
        // by readDecimal is the number written; Double.toString on Java 17 is not always the
        // shortest (135e20 comes out as 1.3500000000000001E22, another number).
        g.writeNumber(NumberOutput.toString(d, true));
      } else {
        g.writeNumber(d);
      }
    } else if (value instanceof BigDecimal) {
      g.writeNumber((BigDecimal) value);
    } else if (value instanceof BigInteger) {
      g.writeNumber((BigInteger) value);
    } else if (value instanceof Number) {
      g.writeNumber(((Number) value).doubleValue());
    } else {
      throw new IllegalArgumentException(
          "not a JSON value: " + value.getClass().getName() + " instance");
    }
  }

  /**
   * The length in bytes of {@code value} as {@link #write} writes it in compact UTF-8 JSON (numbers
   * as their {@code toString}, which may differ from the written text by a few characters), or some
   * number above {@code stopAbove} as soon as the length is known to pass it. Every element adds at
   * least a byte and a string longer than what is left is not scanned, so measuring costs
   * O(min(size, stopAbove)) whatever the value holds.
   *
   * @throws IllegalArgumentException if the value (or something inside it) is not a JSON value
   */
  public static long encodedLength(Object value, long stopAbove) {
    long[] left = {stopAbove};
    measure(value, left);
    return stopAbove - left[0];
  }

  /** Subtracts the length of {@code value} from {@code left[0]}; stops once it is below zero. */
  private static void measure(Object value, long[] left) {
    if (left[0] < 0) {
      return;
    }
    if (value == null) {
      left[0] -= 4;
    } else if (value instanceof String) {
      left[0] -= stringLength((String) value, left[0]);
    } else if (value instanceof Map) {
      left[0] -= 2;
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        if (left[0] < 0) {
          return;
        }
        left[0] -= (first ? 1 : 2) + stringLength(String.valueOf(e.getKey()), left[0]);
        first = false;
        measure(e.getValue(), left);
      }
    } else if (value instanceof Collection) {
      Collection<?> c = (Collection<?>) value;
      left[0] -= 2 + Math.max(0, c.size() - 1L);
      for (Object element : c) {
        if (left[0] < 0) {
          return;
        }
        measure(element, left);
      }
    } else if (value instanceof Boolean) {
      left[0] -= (Boolean) value ? 4 : 5;
    } else if (value instanceof Number) {
      left[0] -= value.toString().length();
    } else {
      throw new IllegalArgumentException(
          "not a JSON value: " + value.getClass().getName() + " instance");
    }
  }

  /** UTF-8 length of {@code s} quoted and escaped as JSON; past {@code left}, just above it. */
  private static long stringLength(String s, long left) {
    int n = s.length();
    if (n + 2L > left) {
      return n + 2L; // every character takes at least a byte: no need to look at them
    }
    long bytes = 2;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        bytes += 2;
      } else if (c < 0x20) {
        bytes += c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r' ? 2 : 6;
      } else if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isSurrogate(c)) {
        bytes += 6; // Jackson escapes each half of a surrogate pair (6 bytes)
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  private static Object freezeNumber(Number n) {
    if (n instanceof Integer
        || n instanceof Long
        || n instanceof Double
        || n instanceof BigInteger
        || n instanceof BigDecimal) {
      return n;
    }
    if (n instanceof Short || n instanceof Byte) {
      return n.intValue();
    }
    if (n instanceof Float) {
      // Via the decimal text, so 15.8f stays 15.8 rather than 15.800000190734863.
      return Double.valueOf(n.toString());
    }
    throw new IllegalArgumentException("unsupported number type " + n.getClass().getName());
  }
}
