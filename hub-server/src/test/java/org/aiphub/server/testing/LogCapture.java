package org.aiphub.server.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.LoggerFactory;

/**
 * A logback {@link ListAppender} attached to some loggers, whose level is lowered for the capture
 * and restored on {@link #close()}. Events are appended on event-loop threads; reads take the
 * appender's lock, the one {@code doAppend} holds, so they see a consistent list.
 */
public final class LogCapture implements AutoCloseable {
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Map<Logger, Level> previous = new LinkedHashMap<>();

  private LogCapture() {}

  /** Captures {@code loggers} (names; {@code ROOT} for all) at {@code level} and above. */
  public static LogCapture attach(Level level, String... loggers) {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    LogCapture c = new LogCapture();
    c.appender.setContext(ctx);
    c.appender.setName("test-capture");
    c.appender.start();
    for (String name : loggers) {
      Logger l = ctx.getLogger(name);
      c.previous.put(l, l.getLevel());
      l.setLevel(level);
      l.addAppender(c.appender);
    }
    return c;
  }

  /** Every event captured so far. */
  public List<ILoggingEvent> events() {
    synchronized (appender) {
      return new ArrayList<>(appender.list);
    }
  }

  /** The formatted messages of the events logged by {@code loggerName}. */
  public List<String> messages(String loggerName) {
    return events().stream()
        .filter(e -> e.getLoggerName().equals(loggerName))
        .map(ILoggingEvent::getFormattedMessage)
        .collect(Collectors.toList());
  }

  /** Each event's formatted message followed by the messages of its throwable chain. */
  public static String fullText(ILoggingEvent e) {
    StringBuilder b = new StringBuilder(String.valueOf(e.getFormattedMessage()));
    for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
      b.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
    }
    return b.toString();
  }

  @Override
  public void close() {
    previous.forEach(
        (l, level) -> {
          l.detachAppender(appender);
          l.setLevel(level);
        });
    appender.stop();
  }
}
