package org.aiphub.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What a JSON value costs to keep: an estimate of the heap it retains, and the length of its
 * compact JSON text as the hub writes it (UTF-8; Jackson escapes each half of a surrogate pair).
 * Both come from one walk over the value, so measuring costs O(size of the value), once, when the
 * hub decides to keep it.
 *
 * <p>The heap estimate models a 64-bit JVM with compressed references (12-byte object headers,
 * 4-byte references, 8-byte alignment) and Java 9+ compact strings (one byte per character when
 * every character is Latin-1, else two), over the shapes {@link JsonValues} builds. A string that
 * occurs several times in one value as the same instance (the parser shares object keys and short
 * strings) is counted once; strings shared with other values are counted in each, so the estimate
 * errs on the high side. {@code JsonFootprintTest} compares it with measured heap.
 */
public final class JsonFootprint {
  /** Object header with compressed class pointers. */
  static final int HEADER = 12;

  /** A reference with compressed oops. */
  static final int REF = 4;

  /** Array header: object header plus the length. */
  static final int ARRAY_HEADER = 16;

  /** Added per container, for what bulk measurements find beyond the layout (a few percent). */
  static final int SLACK = 16;

  private static final JsonFactory JSON = new JsonFactory();

  private JsonFootprint() {}

  /**
   * What a value costs.
   *
   * @param heapBytes estimated heap the value retains (0 for {@code null} and booleans, which are
   *     shared)
   * @param jsonBytes length in bytes of its compact UTF-8 JSON text
   */
  public record Size(long heapBytes, long jsonBytes) {}

  /**
   * Measures a JSON value (frozen or not).
   *
   * @throws IllegalArgumentException if the value (or something inside it) is not a JSON value
   */
  public static Size of(Object value) {
    Walk w = new Walk();
    w.visit(value);
    return new Size(w.heap, w.json);
  }

  /** Estimated heap of one string: the object and its byte array. */
  public static long stringHeap(String s) {
    return stringHeap(s.length(), latin1(s));
  }

  /** Length of {@code s} in UTF-8 (a lone surrogate counts as the 3 bytes of a replacement). */
  public static long utf8Length(String s) {
    long n = 0;
    for (int i = 0, len = s.length(); i < len; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < len
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** Bytes an object of {@code fieldBytes} bytes of fields takes, header and padding included. */
  public static long object(long fieldBytes) {
    return align(HEADER + fieldBytes);
  }

  /** Bytes an array of {@code length} references takes. */
  public static long refArray(long length) {
    return align(ARRAY_HEADER + REF * length);
  }

  /**
   * The first {@code maxChars} characters of the compact JSON text of {@code value} (all of it when
   * shorter), never ending inside a surrogate pair. Costs O(maxChars) plus one generator buffer,
   * whatever the size of the value.
   */
  public static String preview(Object value, int maxChars) {
    Bounded out = new Bounded(maxChars);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
      JsonValues.write(g, value);
    } catch (IOException e) {
      // Full: the preview has what it needs. Nothing else can fail writing to memory.
    }
    return cut(out.text, maxChars);
  }

  /** The first {@code maxChars} characters of {@code s}, never ending inside a surrogate pair. */
  public static String cut(CharSequence s, int maxChars) {
    int end = Math.min(s.length(), maxChars);
    if (end > 0 && end < s.length() && Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.subSequence(0, end).toString();
  }

  static long stringHeap(int length, boolean latin1) {
    // String: header, hash, coder, hashIsZero, value reference = 24 bytes; then its byte[].
    return object(REF + 4 + 1 + 1) + align(ARRAY_HEADER + (long) length * (latin1 ? 1 : 2));
  }

  static long align(long bytes) {
    return (bytes + 7) & ~7L;
  }

  private static boolean latin1(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      if (s.charAt(i) > 0xFF) {
        return false;
      }
    }
    return true;
  }

  private static final class Walk {
    long heap;
    long json;
    private String first;
    private Set<String> seen;

    /** Whether {@code s} is an instance not met before in this walk (small values: no set). */
    private boolean counted(String s) {
      if (seen == null) {
        if (first == null) {
          first = s;
          return true;
        }
        if (first == s) {
          return false;
        }
        seen = Collections.newSetFromMap(new IdentityHashMap<>());
        seen.add(first);
      }
      return seen.add(s);
    }

    void visit(Object v) {
      if (v == null) {
        json += 4;
      } else if (v instanceof String) {
        string((String) v);
      } else if (v instanceof Map) {
        Map<?, ?> m = (Map<?, ?>) v;
        int n = m.size();
        // FrozenMap: header, AbstractMap's two view fields, keys, values, index, entry-set view;
        // its two arrays, and above eight entries an int[] index of about twice as many slots.
        // Plus SLACK: measured in bulk, parsed objects retain a little more than their layout.
        heap += object(6L * REF) + 2 * refArray(n) + SLACK;
        if (n > 8) {
          heap += align(ARRAY_HEADER + 4L * (Integer.highestOneBit(n * 2 - 1) << 1));
        }
        json += 2 + Math.max(0, n - 1) + n; // braces, commas, colons
        for (Map.Entry<?, ?> e : m.entrySet()) {
          if (!(e.getKey() instanceof String)) {
            throw new IllegalArgumentException("JSON object keys must be strings: " + e.getKey());
          }
          string((String) e.getKey());
          visit(e.getValue());
        }
      } else if (v instanceof Collection) {
        Collection<?> c = (Collection<?>) v;
        int n = c.size();
        heap += object(REF + REF) + refArray(n) + SLACK; // FrozenList (and modCount), array
        json += 2 + Math.max(0, n - 1);
        for (Object e : c) {
          visit(e);
        }
      } else if (v instanceof Boolean) {
        json += (Boolean) v ? 4 : 5; // Boolean.TRUE and FALSE are shared
      } else if (v instanceof Integer) {
        heap += object(4);
        json += v.toString().length();
      } else if (v instanceof Long || v instanceof Double) {
        heap += object(8);
        json += v.toString().length();
      } else if (v instanceof BigInteger) {
        heap += bigInteger((BigInteger) v);
        json += v.toString().length();
      } else if (v instanceof BigDecimal) {
        BigDecimal d = (BigDecimal) v;
        // BigDecimal: header, intVal, scale, precision, stringCache, intCompact = 40 bytes.
        heap += object(REF + 4 + 4 + REF + 8) + bigInteger(d.unscaledValue());
        json += d.toString().length();
      } else if (v instanceof Number) {
        heap += object(8);
        json += v.toString().length();
      } else {
        throw new IllegalArgumentException(
            "not a JSON value: " + v.getClass().getName() + " instance");
      }
    }

    private void string(String s) {
      boolean latin1 = true;
      long bytes = 2; // quotes
      for (int i = 0, n = s.length(); i < n; i++) {
        char c = s.charAt(i);
        if (c > 0xFF) {
          latin1 = false;
        }
        if (c == '"' || c == '\\') {
          bytes += 2;
        } else if (c < 0x20) {
          bytes += c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r' ? 2 : 6;
        } else if (c < 0x80) {
          bytes++;
        } else if (c < 0x800) {
          bytes += 2;
        } else if (Character.isSurrogate(c)) {
          bytes += 6; // Jackson writes each half of a pair as a six-character escape
        } else {
          bytes += 3;
        }
      }
      json += bytes;
      if (counted(s)) {
        heap += stringHeap(s.length(), latin1);
      }
    }

    private static long bigInteger(BigInteger b) {
      // BigInteger: header, signum, mag, four cached ints = 40 bytes; then its int[] magnitude.
      return object(4 + REF + 16) + align(ARRAY_HEADER + 4L * ((b.bitLength() + 31) / 32));
    }
  }

  /** A writer that keeps the first characters it is given and then refuses more. */
  private static final class Bounded extends Writer {
    final StringBuilder text;
    private final int max;

    Bounded(int max) {
      this.max = max;
      this.text = new StringBuilder(Math.min(max, 1024));
    }

    @Override
    public void write(char[] buf, int off, int len) throws IOException {
      int room = max + 1 - text.length(); // one more than asked: says whether anything was cut
      text.append(buf, off, Math.min(len, Math.max(0, room)));
      if (len >= room) {
        throw new Full();
      }
    }

    @Override
    public void write(String s, int off, int len) throws IOException {
      int room = max + 1 - text.length();
      text.append(s, off, off + Math.min(len, Math.max(0, room)));
      if (len >= room) {
        throw new Full();
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  /** Stops the generator once the preview is full. */
  private static final class Full extends IOException {
    private static final long serialVersionUID = 1L;

    Full() {
      super("preview full");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this; // control flow, not an error
    }
  }
}
