package org.aiphub.bench.loadgen;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Quiets the logs of an in-process hub, which would otherwise log every session it routes. */
final class Logging {
  private Logging() {}

  static void quietHubEvents() {
    for (String name : new String[] {"org.aiphub.sessions", "org.aiphub.clients", "io.netty"}) {
      if (LoggerFactory.getLogger(name) instanceof Logger) {
        ((Logger) LoggerFactory.getLogger(name)).setLevel(Level.WARN);
      }
    }
  }
}
