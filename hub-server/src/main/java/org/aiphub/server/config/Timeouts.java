package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.HANDSHAKE_TIMEOUT;
import static org.aiphub.server.config.Settings.IDLE_TIMEOUT;
import static org.aiphub.server.config.Settings.PING_TIMEOUT;
import static org.aiphub.server.config.Settings.PROBE_TIMEOUT;
import static org.aiphub.server.config.Settings.REGISTRATION_TIMEOUT;
import static org.aiphub.server.config.Settings.SHUTDOWN_GRACE;
import static org.aiphub.server.config.Settings.SLOW_CONSUMER_TIMEOUT;

import java.time.Duration;

/**
 * How long the hub waits for each thing a client or a shutdown may take. Validated on construction:
 * every one is positive, except that a zero probe turns the probe off.
 *
 * @param registration how long a new socket may take to register
 * @param idle silence after which a connection is pinged
 * @param ping how long a pinged connection has to answer before it is closed
 * @param slowConsumer how long a client may stay unwritable before it is closed
 * @param shutdownGrace how long a graceful shutdown may take
 * @param handshake time a plain HTTP connection has to send a complete request (and, idle, between
 *     requests)
 * @param probe how long a live holder of a client id has to answer a ping before a new registration
 *     with that id replaces it (zero: no probe)
 */
public record Timeouts(
    Duration registration,
    Duration idle,
    Duration ping,
    Duration slowConsumer,
    Duration shutdownGrace,
    Duration handshake,
    Duration probe) {

  /** Checks every value against its rules in {@link Settings}. */
  public Timeouts {
    REGISTRATION_TIMEOUT.check(registration);
    IDLE_TIMEOUT.check(idle);
    PING_TIMEOUT.check(ping);
    SLOW_CONSUMER_TIMEOUT.check(slowConsumer);
    SHUTDOWN_GRACE.check(shutdownGrace);
    HANDSHAKE_TIMEOUT.check(handshake);
    PROBE_TIMEOUT.check(probe);
  }

  static Timeouts from(HubConfig.Builder b) {
    return new Timeouts(
        b.get(REGISTRATION_TIMEOUT),
        b.get(IDLE_TIMEOUT),
        b.get(PING_TIMEOUT),
        b.get(SLOW_CONSUMER_TIMEOUT),
        b.get(SHUTDOWN_GRACE),
        b.get(HANDSHAKE_TIMEOUT),
        b.get(PROBE_TIMEOUT));
  }
}
