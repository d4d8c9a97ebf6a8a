package org.aiphub.server;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * Installs POSIX signal handlers through {@code sun.misc.Signal} (module jdk.unsupported), looked
 * up reflectively: javac refuses to compile direct uses of that API warning-free. On a JVM without
 * it, {@link #handle} returns false and the caller falls back to a shutdown hook.
 */
final class Signals {
  private Signals() {}

  /**
   * Runs {@code action} on its own thread whenever the process gets signal {@code name}.
   *
   * @return false when no handler could be installed: no {@code sun.misc.Signal}, or the signal was
   *     ignored when the JVM started (e.g. SIGHUP under {@code nohup}), which the JVM keeps
   */
  static boolean handle(String name, Runnable action) {
    try {
      Class<?> signal = Class.forName("sun.misc.Signal");
      Class<?> handler = Class.forName("sun.misc.SignalHandler");
      InvocationHandler onSignal =
          (proxy, method, args) -> {
            switch (method.getName()) {
              case "handle":
                Thread t = new Thread(action, "aip-hub-signal-" + name);
                t.start();
                return null;
              case "hashCode":
                return System.identityHashCode(proxy);
              case "equals":
                return proxy == args[0];
              default:
                return "handler for SIG" + name;
            }
          };
      Object proxy =
          Proxy.newProxyInstance(
              Signals.class.getClassLoader(), new Class<?>[] {handler}, onSignal);
      Method install = signal.getMethod("handle", signal, handler);
      Object previous =
          install.invoke(null, signal.getConstructor(String.class).newInstance(name), proxy);
      return previous != handler.getField("SIG_IGN").get(null);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return false;
    }
  }
}
