package org.aiphub.server.testing;

import io.netty.channel.Channel;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.RegistryConsistency;
import org.aiphub.server.HubServer;
import org.aiphub.server.dashboard.DashboardState;

/**
 * Reflective looks at package-private hub internals, for observations the wire cannot give
 * deterministically (is this channel unwritable, has this connection begun closing), and the
 * registry's consistency check from hub-core's test jar.
 */
public final class HubInternals {
  private HubInternals() {}

  /** {@link RegistryConsistency#check}: every problem found, empty when consistent. */
  public static List<String> consistencyProblems(ClientRegistry registry) {
    return RegistryConsistency.check(registry);
  }

  /** The Netty channel under a hub connection. */
  public static Channel channel(ClientConnection connection) {
    return (Channel) invoke(connection, connection.getClass(), "channel");
  }

  /** Whether the hub has begun closing this connection (writes are refused from then on). */
  public static boolean isClosing(ClientConnection connection) {
    return (Boolean) invoke(connection, connection.getClass(), "isClosing");
  }

  /** The hub's dashboard state, to mark rows changed as a fleet's heartbeats would. */
  public static DashboardState dashboard(HubServer hub) {
    try {
      Field f = HubServer.class.getDeclaredField("dashboard");
      f.setAccessible(true);
      return (DashboardState) f.get(hub);
    } catch (NoSuchFieldException | IllegalAccessException e) {
      throw new AssertionError("cannot reach HubServer.dashboard", e);
    }
  }

  private static Object invoke(Object target, Class<?> type, String name) {
    try {
      Method m = type.getDeclaredMethod(name);
      m.setAccessible(true);
      return m.invoke(target);
    } catch (NoSuchMethodException | IllegalAccessException e) {
      throw new AssertionError("cannot reach " + type.getName() + "." + name + "()", e);
    } catch (InvocationTargetException e) {
      throw new AssertionError(name + "() failed", e.getCause());
    }
  }
}
