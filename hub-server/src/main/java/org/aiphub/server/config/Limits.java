package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.BAD_FRAMES_PER_MINUTE;
import static org.aiphub.server.config.Settings.DEFAULT_MAX_CONCURRENT_TASKS;
import static org.aiphub.server.config.Settings.MAX_BODY_BYTES;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS_PER_ADDRESS;
import static org.aiphub.server.config.Settings.MAX_FRAGMENTS_PER_MESSAGE;
import static org.aiphub.server.config.Settings.MAX_FRAME_BYTES;
import static org.aiphub.server.config.Settings.MAX_JSON_DEPTH;
import static org.aiphub.server.config.Settings.MAX_SESSIONS_PER_CONSTELLATION;
import static org.aiphub.server.config.Settings.REGISTRATIONS_PER_ADDRESS_PER_SECOND;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_MAX_BYTES;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_HIGH;
import static org.aiphub.server.config.Settings.WRITE_BUFFER_LOW;

/**
 * What one client, one address, and all of them together may make the hub hold: input sizes, bytes
 * queued for a reader, sockets, registrations and sessions. Validated on construction, including
 * the bounds that compare these keys with each other.
 *
 * <p>The write-buffer marks are here rather than with the listen settings because the slow-consumer
 * bound is checked against them: one section keeps those checks in one order, so the same bad file
 * always gets the same message.
 *
 * @param maxFrameBytes largest WebSocket message (after reassembly of fragments)
 * @param maxFragmentsPerMessage most frames one WebSocket message may come in
 * @param maxJsonDepth deepest JSON nesting accepted in a frame
 * @param maxBodyBytes largest HTTP request body
 * @param badFramesPerMinute undecodable frames a client may send per minute before it is closed
 * @param defaultMaxConcurrentTasks device task limit where its config sets none (0: none)
 * @param writeBufferLow bytes queued for a client below which it is writable again
 * @param writeBufferHigh bytes queued for a client above which it is unwritable
 * @param slowConsumerMaxBytes bytes queued for a client at which it is closed at once
 * @param maxConnections most open sockets (0: what the open-file limit allows, minus headroom)
 * @param maxConnectionsPerAddress most open sockets per source address (0: no limit)
 * @param registrationsPerAddressPerSecond WebSocket upgrades per source address and second (0: no
 *     limit)
 * @param maxSessionsPerConstellation most running sessions one constellation may own (0: none)
 */
public record Limits(
    int maxFrameBytes,
    int maxFragmentsPerMessage,
    int maxJsonDepth,
    int maxBodyBytes,
    int badFramesPerMinute,
    int defaultMaxConcurrentTasks,
    int writeBufferLow,
    int writeBufferHigh,
    long slowConsumerMaxBytes,
    int maxConnections,
    int maxConnectionsPerAddress,
    int registrationsPerAddressPerSecond,
    int maxSessionsPerConstellation) {

  /** The least {@code slow_consumer_max_bytes} when it is left unset (16 MiB). */
  public static final long DEFAULT_SLOW_CONSUMER_MAX_BYTES = 16L * 1024 * 1024;

  /** Checks every value against its rules in {@link Settings}, then the bounds between them. */
  public Limits {
    MAX_FRAME_BYTES.check(maxFrameBytes);
    MAX_FRAGMENTS_PER_MESSAGE.check(maxFragmentsPerMessage);
    MAX_JSON_DEPTH.check(maxJsonDepth);
    MAX_BODY_BYTES.check(maxBodyBytes);
    BAD_FRAMES_PER_MINUTE.check(badFramesPerMinute);
    DEFAULT_MAX_CONCURRENT_TASKS.check(defaultMaxConcurrentTasks);
    WRITE_BUFFER_LOW.check(writeBufferLow);
    WRITE_BUFFER_HIGH.check(writeBufferHigh);
    SLOW_CONSUMER_MAX_BYTES.check(slowConsumerMaxBytes);
    if (writeBufferHigh <= writeBufferLow) {
      throw WRITE_BUFFER_HIGH.invalid(
          writeBufferHigh, "must be above " + WRITE_BUFFER_LOW.key() + " " + writeBufferLow);
    }
    if (slowConsumerMaxBytes <= writeBufferHigh) {
      throw SLOW_CONSUMER_MAX_BYTES.invalid(
          slowConsumerMaxBytes, "must be above " + WRITE_BUFFER_HIGH.key() + " " + writeBufferHigh);
    }
    if (slowConsumerMaxBytes < 2L * maxFrameBytes) {
      // One accepted message is forwarded with its envelope; a bound below it would close every
      // reader of a big result as a slow consumer, again on each redelivery of that result.
      throw SLOW_CONSUMER_MAX_BYTES.invalid(
          slowConsumerMaxBytes,
          "must be at least twice " + MAX_FRAME_BYTES.key() + " " + maxFrameBytes);
    }
    MAX_CONNECTIONS.check(maxConnections);
    MAX_CONNECTIONS_PER_ADDRESS.check(maxConnectionsPerAddress);
    REGISTRATIONS_PER_ADDRESS_PER_SECOND.check(registrationsPerAddressPerSecond);
    MAX_SESSIONS_PER_CONSTELLATION.check(maxSessionsPerConstellation);
  }

  static Limits from(HubConfig.Builder b) {
    int maxFrameBytes = b.get(MAX_FRAME_BYTES);
    return new Limits(
        maxFrameBytes,
        b.get(MAX_FRAGMENTS_PER_MESSAGE),
        b.get(MAX_JSON_DEPTH),
        b.get(MAX_BODY_BYTES),
        b.get(BAD_FRAMES_PER_MINUTE),
        b.get(DEFAULT_MAX_CONCURRENT_TASKS),
        b.get(WRITE_BUFFER_LOW),
        b.get(WRITE_BUFFER_HIGH),
        slowConsumerMaxBytes(b.get(SLOW_CONSUMER_MAX_BYTES), maxFrameBytes),
        b.get(MAX_CONNECTIONS),
        b.get(MAX_CONNECTIONS_PER_ADDRESS),
        b.get(REGISTRATIONS_PER_ADDRESS_PER_SECOND),
        b.get(MAX_SESSIONS_PER_CONSTELLATION));
  }

  /**
   * {@code slow_consumer_max_bytes} as set, or, unset (or 0 or less, which config files have always
   * taken as unset), the larger of 16 MiB and four frames: raising the frame limit alone then
   * works.
   */
  static long slowConsumerMaxBytes(Long set, int maxFrameBytes) {
    return set != null && set > 0
        ? set
        : Math.max(DEFAULT_SLOW_CONSUMER_MAX_BYTES, 4L * maxFrameBytes);
  }
}
