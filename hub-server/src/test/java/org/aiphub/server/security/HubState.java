package org.aiphub.server.security;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.HubServer;
import org.aiphub.server.dashboard.DashboardState;
import org.aiphub.server.metrics.MetricNames;
import org.aiphub.server.netty.EventStream;

/**
 * How much the hub holds, read by reflection so that no internal map can grow unseen: the size of
 * every map and collection field (also behind an {@link AtomicReference}) of the registry and its
 * parts ({@code DeviceIndex}, {@code SessionBindings}, {@code FoldIndex}), the session table, the
 * metrics, the admission control and the dashboard state, the entry counts of the collections and
 * maps inside those maps (as {@code Class.field.inner}: the session ids in the registry's
 * per-client session sets, the outcomes held per owner), and the integer counters beside them. Two
 * snapshots are equal when an attack left no bookkeeping behind.
 */
final class HubState {
  /**
   * Not bookkeeping: an id generator (it counts attempts), the open-socket count (HTTP clients keep
   * connections alive; tests about sockets check it on their own), and the metrics' cache of
   * labelled counters, which gains an entry the first time each refusal reason (a fixed set) is
   * counted ({@link #hubMeters} watches it where repetition matters), and the dashboard's chart
   * series, which gains a point every two seconds whatever happens, up to a fixed length.
   */
  private static final Set<String> SEQUENCES =
      Set.of(
          "SessionTable.runs",
          "AdmissionControl.open",
          "HubMetrics.byLabel",
          "DashboardState.series");

  private HubState() {}

  /** Every size, by {@code Class.field} name. */
  static Map<String, Long> sizes(HubServer server) {
    Map<String, Long> out = new TreeMap<>();
    addRegistry(out, server.registry());
    add(out, server.sessions(), SessionTable.class);
    add(out, server.metrics(), server.metrics().getClass());
    add(out, admission(server), AdmissionControl.class);
    add(out, dashboard(server), DashboardState.class);
    return out;
  }

  /**
   * The registry and each of its parts (the index, the session bindings, the fold index: every
   * field whose value is a class of the registry's own package), so that a map that moves into a
   * part stays watched.
   */
  private static void addRegistry(Map<String, Long> out, ClientRegistry registry) {
    add(out, registry, ClientRegistry.class);
    for (Field f : ClientRegistry.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      Object part = read(registry, f);
      if (part != null
          && part != registry
          && part.getClass().getPackageName().equals(ClientRegistry.class.getPackageName())) {
        add(out, part, part.getClass());
      }
    }
  }

  /**
   * How many meters of the hub's own the metrics registry holds, but the per-route HTTP counters (a
   * fixed label set): a meter per client-chosen value would grow without bound.
   */
  static long hubMeters(HubServer server) {
    MeterRegistry registry =
        (MeterRegistry) read(server.metrics(), field(server.metrics().getClass(), "registry"));
    return registry.getMeters().stream()
        .map(m -> m.getId().getName())
        .filter(n -> n.startsWith("hub.") && !n.equals(MetricNames.HTTP_REQUESTS))
        .count();
  }

  /** The hub's channel for the client socket bound to local port {@code clientPort}, if open. */
  static Optional<Channel> channel(HubServer server, int clientPort) {
    Iterable<?> channels = (Iterable<?>) read(server, field(HubServer.class, "channels"));
    for (Object o : channels) {
      Channel ch = (Channel) o;
      if (ch.remoteAddress() instanceof InetSocketAddress
          && ((InetSocketAddress) ch.remoteAddress()).getPort() == clientPort) {
        return Optional.of(ch);
      }
    }
    return Optional.empty();
  }

  /** Bytes the hub has queued for {@code ch} and not yet written to its socket. */
  static long pendingBytes(Channel ch) {
    ChannelOutboundBuffer b = ch.unsafe().outboundBuffer();
    return b == null ? 0 : b.totalPendingWriteBytes();
  }

  /** Viewers the dashboard feed ({@code GET /api/events}) streams to now. */
  static int feedViewers(HubServer server) {
    return ((EventStream) read(server, field(HubServer.class, "feed"))).viewers();
  }

  /** The clients whose last heartbeat the dashboard state holds. */
  static Set<String> heartbeatsNoted(HubServer server) {
    Map<?, ?> m = (Map<?, ?>) read(dashboard(server), field(DashboardState.class, "connections"));
    Set<String> ids = new HashSet<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      Object connection = e.getValue();
      if (read(connection, field(connection.getClass(), "lastHeartbeat")) != null) {
        ids.add((String) e.getKey());
      }
    }
    return ids;
  }

  /** What the hub keeps for the live dashboard. */
  static DashboardState dashboard(HubServer server) {
    return (DashboardState) read(server, field(HubServer.class, "dashboard"));
  }

  /** The hub's admission control (connection caps and upgrade rate). */
  static AdmissionControl admission(HubServer server) {
    return (AdmissionControl) read(server, field(HubServer.class, "admission"));
  }

  private static void add(Map<String, Long> out, Object target, Class<?> type) {
    for (Field f : type.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      String name = type.getSimpleName() + "." + f.getName();
      if (SEQUENCES.contains(name)) {
        continue;
      }
      Object v = read(target, f);
      if (v instanceof AtomicReference) {
        v = ((AtomicReference<?>) v).get(); // a map or set swapped whole, e.g. changes to publish
      }
      if (v instanceof Map) {
        Map<?, ?> m = (Map<?, ?>) v;
        out.put(name, (long) m.size());
        long inner = 0;
        boolean nested = false;
        for (Object value : m.values()) {
          if (value instanceof Collection) {
            inner += ((Collection<?>) value).size();
            nested = true;
          } else if (value instanceof Map) {
            inner += ((Map<?, ?>) value).size();
            nested = true;
          }
        }
        if (nested) {
          out.put(name + ".inner", inner);
        }
      } else if (v instanceof Collection) {
        out.put(name, (long) ((Collection<?>) v).size());
      } else if (v instanceof AtomicInteger) {
        out.put(name, (long) ((AtomicInteger) v).get());
      } else if (v instanceof AtomicLong) {
        out.put(name, ((AtomicLong) v).get());
      }
    }
  }

  private static Field field(Class<?> type, String name) {
    try {
      return type.getDeclaredField(name);
    } catch (NoSuchFieldException e) {
      throw new AssertionError("no field " + type.getName() + "." + name, e);
    }
  }

  private static Object read(Object target, Field f) {
    try {
      f.setAccessible(true);
      return f.get(target);
    } catch (IllegalAccessException | RuntimeException e) {
      throw new AssertionError("cannot read " + f, e);
    }
  }
}
