package org.aiphub.server;

import java.util.function.Consumer;

/**
 * What the hub does when the JVM runs out of memory: it exits at once with {@value #EXIT_CODE}, so
 * that a supervisor restarts it, rather than limp on with dead event loops, an unanswered {@code
 * /healthz} and signals it can no longer handle. The launcher ({@code hub.sh}) and the documented
 * {@code java -jar} line also pass {@code -XX:+ExitOnOutOfMemoryError}, which covers every thread;
 * this is the same rule in the code, for a JVM started without the flag: the default
 * uncaught-exception handler, the pipelines' last handler ({@code ExceptionHandler}), and the hub's
 * own timers ({@link #guard}).
 *
 * <p>Only a process installs it ({@link HubMain#main} calls {@link #exitOnFatal}): a hub embedded
 * in another program (a test, a benchmark) leaves that decision to its host, and {@link #check}
 * then only reports whether an error is fatal.
 */
public final class FatalErrors {
  /** The exit code, the same as {@code -XX:+ExitOnOutOfMemoryError}'s. */
  public static final int EXIT_CODE = 3;

  // Built up front: printing after an OutOfMemoryError must not need memory.
  private static final String MESSAGE =
      "aip-hub: java.lang.OutOfMemoryError: exiting with code "
          + EXIT_CODE
          + " so that a supervisor restarts the hub (see README, \"Running in production\")";

  private static volatile Consumer<Throwable> onFatal;

  private FatalErrors() {}

  /**
   * From now on this process halts with {@value #EXIT_CODE} on the first {@link OutOfMemoryError}
   * that reaches the hub's handlers or escapes any thread. Other uncaught errors go to the handler
   * installed before, if any, else are printed as the JVM would.
   */
  public static void exitOnFatal() {
    onFatal = FatalErrors::halt;
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, error) -> {
          check(error);
          if (previous != null) {
            previous.uncaughtException(thread, error);
          } else {
            System.err.print("Exception in thread \"" + thread.getName() + "\" ");
            error.printStackTrace();
          }
        });
  }

  /**
   * Whether {@code t}, or an error that caused it, is an {@link OutOfMemoryError} of the heap (or
   * of another JVM area). Running out of <em>direct</em> memory is not fatal: Netty's pooled
   * buffers live there, their allocator reports it with its own {@code OutOfDirectMemoryError} (and
   * NIO with "Direct buffer memory"), every hub path that allocates one frees what it holds on
   * failure and answers 503 or drops that one client, and the JVM flag {@code
   * -XX:+ExitOnOutOfMemoryError} does not fire for it either (the JVM does not throw it).
   */
  public static boolean isFatal(Throwable t) {
    for (int depth = 0; t != null && depth < 16; depth++, t = t.getCause()) {
      if (t instanceof OutOfMemoryError) {
        return !isDirectMemory((OutOfMemoryError) t);
      }
    }
    return false;
  }

  private static boolean isDirectMemory(OutOfMemoryError e) {
    if (e.getClass().getName().equals("io.netty.util.internal.OutOfDirectMemoryError")) {
      return true;
    }
    String message = e.getMessage();
    return message != null && message.startsWith("Direct buffer memory");
  }

  /**
   * Acts on a fatal error: halts the process where {@link #exitOnFatal} was called.
   *
   * @return whether {@code t} is fatal (when it returns at all)
   */
  public static boolean check(Throwable t) {
    if (!isFatal(t)) {
      return false;
    }
    Consumer<Throwable> action = onFatal;
    if (action != null) {
      action.accept(t);
    }
    return true;
  }

  /**
   * {@code task}, checked: a fatal error it throws halts the process before an executor that logs
   * and goes on (Netty's event loops do) can swallow it.
   */
  public static Runnable guard(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        check(e);
        throw e;
      }
    };
  }

  /** Test hook: what happens on a fatal error ({@code null}: nothing); returns the previous. */
  static Consumer<Throwable> onFatal(Consumer<Throwable> action) {
    Consumer<Throwable> previous = onFatal;
    onFatal = action;
    return previous;
  }

  private static void halt(Throwable t) {
    try {
      System.err.println(MESSAGE);
      System.err.println(t);
      System.err.flush();
    } catch (Throwable ignored) {
      // Nothing can be done without memory; exiting matters more than the message.
    }
    Runtime.getRuntime().halt(EXIT_CODE);
  }
}
