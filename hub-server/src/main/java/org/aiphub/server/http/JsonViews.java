package org.aiphub.server.http;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.aiphub.core.aip.AipTimestamps;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.Truncation;

/** How sessions look in JSON, for the HTTP API and the dashboard feed alike. */
public final class JsonViews {
  private JsonViews() {}

  /** A session record; {@code now} gives running sessions their duration so far. */
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
}
