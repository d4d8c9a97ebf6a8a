package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.HISTORY_AGE;
import static org.aiphub.server.config.Settings.HISTORY_SIZE;

import java.time.Duration;

/**
 * How many finished sessions are kept, and how long, for look-ups and for owners who were offline.
 *
 * @param size finished sessions kept
 * @param age how long finished sessions are kept
 */
public record History(int size, Duration age) {

  /** Checks both against their rules in {@link Settings}. */
  public History {
    HISTORY_SIZE.check(size);
    HISTORY_AGE.check(age);
  }

  static History from(HubConfig.Builder b) {
    return new History(b.get(HISTORY_SIZE), b.get(HISTORY_AGE));
  }
}
