package org.aiphub.core.session;

import java.util.Objects;

/**
 * What tells one run apart from every other: its session id and its run number. Two runs that reuse
 * a finished id share the id but never the run, so their records never overwrite each other.
 * Ordered by id, then by run (older runs first).
 *
 * @param id the session id
 * @param run the run number ({@link Session#run()})
 */
public record SessionKey(String id, long run) implements Comparable<SessionKey> {
  /** Requires the id. */
  public SessionKey {
    Objects.requireNonNull(id, "id");
  }

  @Override
  public int compareTo(SessionKey o) {
    int c = id.compareTo(o.id);
    return c != 0 ? c : Long.compare(run, o.run);
  }
}
