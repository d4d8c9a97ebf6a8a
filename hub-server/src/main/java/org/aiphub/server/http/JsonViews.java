package org.aiphub.server.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.Writer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.AipTimestamps;
import org.aiphub.core.json.JsonValues;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.Truncation;

/**
 * How sessions look in JSON, for the HTTP API and the dashboard feed alike: the full record (one
 * session, {@code GET /api/sessions/{id}}) and the summary every list shows ({@code GET
 * /api/sessions}, the dashboard feed).
 */
public final class JsonViews {
  /**
   * Most characters of a free-text field in a summary (task name, error, request and result
   * previews); a longer value is cut there and ends with {@link #ELLIPSIS}.
   */
  public static final int PREVIEW_CHARS = 200;

  /** What ends a value cut to {@link #PREVIEW_CHARS}. */
  public static final String ELLIPSIS = "\u2026";

  private static final JsonFactory JSON = new JsonFactory();

  private JsonViews() {}

  /**
   * A session record, request and result included; {@code now} gives running sessions their
   * duration so far. Only the one-session route shows it: a request and a result may each be as
   * large as a WebSocket message.
   */
  public static Map<String, Object> session(Session s, Instant now) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("session_id", s.id());
    // Runs of a reused id share the session id: the run number tells them apart (and orders them).
    m.put("run", s.run());
    m.put("state", s.state().wire());
    m.put("owner", s.ownerId());
    m.put("origin", s.ownerId() == null ? "api" : "constellation");
    m.put("device", s.executorId());
    m.put("task_name", s.taskName());
    // A long request or result is kept as {"truncated": true, "bytes": N, "preview": "..."}.
    m.put("request", Truncation.request(s));
    m.put("created_at", AipTimestamps.format(s.createdAt()));
    m.put("ended_at", s.endedAt() == null ? null : AipTimestamps.format(s.endedAt()));
    m.put("duration_ms", s.duration(now).toMillis());
    m.put("result", s.result());
    m.put("error", s.error());
    m.put("held_for_owner", s.held());
    return m;
  }

  /**
   * A session as lists show it: everything of {@link #session} but the request and the result,
   * which come as previews of at most {@link #PREVIEW_CHARS} characters ({@code request_preview};
   * {@code result_preview}: a string result as it is, any other value as compact JSON), with the
   * request's length in {@code request_chars}. {@code task_name} and {@code error} are cut to the
   * same length, and {@code truncated} names every field that was cut. Its size is bounded whatever
   * the session holds, and so is the work: a preview is written until it is full, never the whole
   * value.
   */
  public static Map<String, Object> summary(Session s, Instant now) {
    List<String> truncated = new ArrayList<>();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("session_id", s.id());
    m.put("run", s.run());
    m.put("state", s.state().wire());
    m.put("owner", s.ownerId());
    m.put("origin", s.ownerId() == null ? "api" : "constellation");
    m.put("device", s.executorId());
    m.put("task_name", cut("task_name", s.taskName(), truncated));
    m.put("created_at", AipTimestamps.format(s.createdAt()));
    m.put("ended_at", s.endedAt() == null ? null : AipTimestamps.format(s.endedAt()));
    m.put("duration_ms", s.duration(now).toMillis());
    m.put("error", cut("error", s.error(), truncated));
    m.put("held_for_owner", s.held());
    m.put("request_preview", cut("request", s.request(), truncated));
    m.put("request_chars", s.request() == null ? 0 : s.request().length());
    m.put("result_preview", resultPreview(s.result(), truncated));
    m.put("truncated", truncated);
    return m;
  }

  /** {@code text} cut to {@link #PREVIEW_CHARS}, noting {@code field} when it was. */
  private static String cut(String field, String text, List<String> truncated) {
    if (text == null || text.length() <= PREVIEW_CHARS) {
      return text;
    }
    truncated.add(field);
    int end = PREVIEW_CHARS - 1;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--; // never half a surrogate pair
    }
    return text.substring(0, end) + ELLIPSIS;
  }

  /**
   * The first {@link #PREVIEW_CHARS} characters of a result: a string as it is, anything else as
   * compact JSON, written only as far as the preview needs; notes "result" when it was cut.
   */
  static String resultPreview(Object result, List<String> truncated) {
    if (result == null || result instanceof String) {
      return cut("result", (String) result, truncated);
    }
    Prefix out = new Prefix(PREVIEW_CHARS + 1);
    JsonGenerator g = null;
    try {
      g = JSON.createGenerator(out);
      JsonValues.write(g, result);
      g.flush();
    } catch (Prefix.Full | RuntimeException e) {
      // Full: the preview has what it needs. Anything else: show what was written before it.
    } catch (IOException e) {
      // not from a Prefix, which only ever reports that it is full
    } finally {
      out.closed = true; // close() flushes what the generator still holds: it goes nowhere
      if (g != null) {
        try {
          g.close();
        } catch (IOException | RuntimeException e) {
          // nothing to release: the generator holds only recycled char buffers
        }
      }
    }
    return cut("result", out.text.toString(), truncated);
  }

  /**
   * A writer that keeps the first {@code capacity} characters and then fails, so that a generator
   * writing a large value stops after one buffer's worth instead of writing all of it.
   */
  private static final class Prefix extends Writer {
    private final StringBuilder text = new StringBuilder();
    private final int capacity;
    private boolean closed;

    Prefix(int capacity) {
      this.capacity = capacity;
    }

    @Override
    public void write(char[] buf, int off, int len) throws IOException {
      if (closed) {
        return;
      }
      int room = capacity - text.length();
      text.append(buf, off, Math.min(room, len));
      if (len >= room) {
        throw new Full();
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    /** The preview is complete. No stack trace: it is how every long value ends. */
    static final class Full extends IOException {
      private static final long serialVersionUID = 1L;

      Full() {
        super("preview complete", null);
      }

      @Override
      public synchronized Throwable fillInStackTrace() {
        return this;
      }
    }
  }
}
