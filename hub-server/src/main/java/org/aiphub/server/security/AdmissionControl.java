package org.aiphub.server.security;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Decides, before a single byte is read, whether a new socket may stay: a cap on open sockets, an
 * optional cap per source address, and an optional rate of WebSocket upgrades per source address (a
 * token bucket). Thread-safe; every decision is a few atomic operations.
 */
public final class AdmissionControl {
  /** File descriptors kept free for the hub's own files when the cap comes from the OS limit. */
  static final int FD_HEADROOM = 100;

  /** What {@link #admit} decided. */
  public enum Verdict {
    /** The socket may stay (and was counted). */
    ADMIT,
    /** The hub holds {@code max_connections} sockets already. */
    TOO_MANY_CONNECTIONS,
    /** Its address holds {@code max_connections_per_address} sockets already. */
    TOO_MANY_FROM_ADDRESS
  }

  private final int maxConnections;
  private final int perAddress;
  private final int upgradesPerSecond;
  private final LongSupplier nanoTime;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, Integer> openByAddress = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<InetAddress, Bucket> upgrades = new ConcurrentHashMap<>();

  /**
   * A policy.
   *
   * @param maxConnections most open sockets; 0 derives it from the open-file limit
   * @param perAddress most sockets per source address (0: no limit)
   * @param upgradesPerSecond WebSocket upgrades per address and second (0: no limit)
   */
  public AdmissionControl(
      int maxConnections, int perAddress, int upgradesPerSecond, LongSupplier nanoTime) {
    this.maxConnections = maxConnections > 0 ? maxConnections : defaultMaxConnections();
    this.perAddress = perAddress;
    this.upgradesPerSecond = upgradesPerSecond;
    this.nanoTime = nanoTime;
  }

  /** The cap a {@code max_connections} of 0 means: the open-file limit minus headroom. */
  public static int defaultMaxConnections() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof UnixOperatingSystemMXBean) {
      long fds = ((UnixOperatingSystemMXBean) os).getMaxFileDescriptorCount();
      if (fds > 0) {
        return (int) Math.max(64, Math.min(Integer.MAX_VALUE, fds - FD_HEADROOM));
      }
    }
    return 10_000;
  }

  /** The cap on open sockets in force. */
  public int maxConnections() {
    return maxConnections;
  }

  /** Open sockets admitted and not yet released. */
  public int open() {
    return open.get();
  }

  /** Counts a new socket from {@code address} in, unless a cap says no. */
  public Verdict admit(InetAddress address) {
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      return Verdict.TOO_MANY_CONNECTIONS;
    }
    if (perAddress > 0 && address != null) {
      // Check and count inside compute(): counted outside it, the increment could land on a
      // counter a concurrent release() of the address's last socket has just removed, and that
      // socket would then count against nothing.
      boolean[] full = new boolean[1];
      openByAddress.compute(
          address,
          (a, n) -> {
            int now = n == null ? 0 : n;
            full[0] = now >= perAddress;
            return full[0] ? n : Integer.valueOf(now + 1);
          });
      if (full[0]) {
        open.decrementAndGet();
        return Verdict.TOO_MANY_FROM_ADDRESS;
      }
    }
    return Verdict.ADMIT;
  }

  /** Counts an admitted socket out. */
  public void release(InetAddress address) {
    open.decrementAndGet();
    if (perAddress > 0 && address != null) {
      // compute() keeps "decrement, drop at zero" atomic against a concurrent admit.
      openByAddress.computeIfPresent(address, (a, n) -> n <= 1 ? null : Integer.valueOf(n - 1));
    }
  }

  /** Whether {@code address} may upgrade one more WebSocket now (takes a token if so). */
  public boolean allowUpgrade(InetAddress address) {
    if (upgradesPerSecond <= 0 || address == null) {
      return true;
    }
    long now = nanoTime.getAsLong();
    boolean[] ok = new boolean[1];
    upgrades.compute(
        address,
        (a, b) -> {
          Bucket next =
              b == null ? new Bucket(upgradesPerSecond, now) : b.refill(now, upgradesPerSecond);
          ok[0] = next.tokens >= 1;
          return ok[0] ? next.take() : next;
        });
    return ok[0];
  }

  /**
   * Forgets buckets idle for a second or more: they would be full again, so dropping them changes
   * nothing and keeps the map from growing with every address ever seen.
   */
  public void sweep() {
    long now = nanoTime.getAsLong();
    upgrades.entrySet().removeIf(e -> now - e.getValue().lastNanos >= 1_000_000_000L);
  }

  /** An immutable token bucket. */
  private static final class Bucket {
    final double tokens;
    final long lastNanos;

    Bucket(double tokens, long lastNanos) {
      this.tokens = tokens;
      this.lastNanos = lastNanos;
    }

    Bucket refill(long now, int perSecond) {
      double t = Math.min(perSecond, tokens + (now - lastNanos) * perSecond / 1e9);
      return new Bucket(t, now);
    }

    Bucket take() {
      return new Bucket(tokens - 1, lastNanos);
    }
  }
}
