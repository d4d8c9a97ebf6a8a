package org.aiphub.bench.loadgen;

import java.net.Inet4Address;
import java.net.InetSocketAddress;

/**
 * Spreads client sockets over the source addresses 127.0.0.2 to 127.0.0.9 (round-robin) when the
 * server is on IPv4 loopback, which answers for all of 127/8: each source address has its own
 * ephemeral port range, so tens of thousands of sockets to one server port cannot run out.
 */
final class SourceAddresses {
  private static final int FIRST = 2;
  private static final int COUNT = 8;

  private final boolean spread;
  private int next;

  SourceAddresses(InetSocketAddress remote, boolean enabled) {
    this.spread =
        enabled
            && remote.getAddress() instanceof Inet4Address
            && remote.getAddress().isLoopbackAddress();
  }

  boolean spread() {
    return spread;
  }

  /** The next source address, or null to let the kernel choose. */
  synchronized InetSocketAddress next() {
    if (!spread) {
      return null;
    }
    int host = FIRST + next;
    next = (next + 1) % COUNT;
    return new InetSocketAddress("127.0.0." + host, 0);
  }

  String describe() {
    return spread ? "127.0.0." + FIRST + "-127.0.0." + (FIRST + COUNT - 1) : "kernel's choice";
  }
}
