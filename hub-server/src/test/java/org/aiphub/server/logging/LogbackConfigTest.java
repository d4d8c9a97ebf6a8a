package org.aiphub.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import ch.qos.logback.core.status.Status;
import java.net.URL;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/**
 * The hub's own {@code logback.xml} (the one in the jar), loaded into a private logger context with
 * the variables an operator sets ({@code HUB_LOG_LEVEL}, {@code HUB_LOG_CLIENTS}, {@code
 * HUB_LOG_SESSIONS}; as context properties here, which logback reads like environment variables):
 * the per-client and per-session lines can be lowered on their own, and follow the root level when
 * not set.
 */
class LogbackConfigTest {
  private static final String CLIENTS = "org.aiphub.clients";
  private static final String SESSIONS = "org.aiphub.sessions";
  private static final String NETTY = "io.netty";

  @Test
  void unsetTheyFollowTheRootLevel() throws JoranException {
    Map<String, Level> levels = levels(Map.of());
    assertThat(levels.get(Logger.ROOT_LOGGER_NAME)).isEqualTo(Level.INFO);
    assertThat(levels.get(CLIENTS)).isEqualTo(Level.INFO);
    assertThat(levels.get(SESSIONS)).isEqualTo(Level.INFO);
    assertThat(levels.get(NETTY)).isEqualTo(Level.WARN);

    levels = levels(Map.of("HUB_LOG_LEVEL", "DEBUG"));
    assertThat(levels.get(Logger.ROOT_LOGGER_NAME)).isEqualTo(Level.DEBUG);
    assertThat(levels.get(CLIENTS)).isEqualTo(Level.DEBUG);
    assertThat(levels.get(SESSIONS)).isEqualTo(Level.DEBUG);
  }

  @Test
  void eachCanBeLoweredOnItsOwn() throws JoranException {
    Map<String, Level> levels =
        levels(Map.of("HUB_LOG_CLIENTS", "WARN", "HUB_LOG_SESSIONS", "ERROR"));
    assertThat(levels.get(CLIENTS)).isEqualTo(Level.WARN);
    assertThat(levels.get(SESSIONS)).isEqualTo(Level.ERROR);
    assertThat(levels.get(Logger.ROOT_LOGGER_NAME)).isEqualTo(Level.INFO);

    levels = levels(Map.of("HUB_LOG_LEVEL", "DEBUG", "HUB_LOG_CLIENTS", "WARN"));
    assertThat(levels.get(CLIENTS)).isEqualTo(Level.WARN);
    assertThat(levels.get(SESSIONS)).isEqualTo(Level.DEBUG);
    assertThat(levels.get(Logger.ROOT_LOGGER_NAME)).isEqualTo(Level.DEBUG);
  }

  /**
   * The jar's logback.xml loaded in a fresh context with {@code vars} set: the effective levels of
   * the root, {@code io.netty} and the two event loggers. Fails on any complaint about the file.
   */
  private static Map<String, Level> levels(Map<String, String> vars) throws JoranException {
    URL config = LogbackConfigTest.class.getResource("/logback.xml");
    assertThat(config).as("the hub's logback.xml on the class path").isNotNull();
    LoggerContext ctx = new LoggerContext();
    try {
      vars.forEach(ctx::putProperty);
      JoranConfigurator joran = new JoranConfigurator();
      joran.setContext(ctx);
      joran.doConfigure(config);
      assertThat(ctx.getStatusManager().getCopyOfStatusList())
          .as("logback's complaints about the file")
          .noneMatch(st -> st.getLevel() >= Status.WARN);
      Map<String, Level> out = new LinkedHashMap<>();
      for (String name : List.of(Logger.ROOT_LOGGER_NAME, NETTY, CLIENTS, SESSIONS)) {
        out.put(name, ctx.getLogger(name).getEffectiveLevel());
      }
      return out;
    } finally {
      ctx.stop(); // stops the async appender's worker (and resets the levels: read them before)
    }
  }
}
