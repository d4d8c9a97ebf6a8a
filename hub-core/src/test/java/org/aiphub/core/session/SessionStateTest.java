package org.aiphub.core.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SessionStateTest {
  @Test
  void wireNamesAreLowerCase() {
    assertThat(SessionState.RUNNING.wire()).isEqualTo("running");
    assertThat(SessionState.COMPLETED.wire()).isEqualTo("completed");
    assertThat(SessionState.FAILED.wire()).isEqualTo("failed");
    assertThat(SessionState.CANCELLED.wire()).isEqualTo("cancelled");
  }

  @ParameterizedTest
  @EnumSource(SessionState.class)
  void fromWireReadsWireBackInAnyCase(SessionState s) {
    assertThat(SessionState.fromWire(s.wire())).isSameAs(s);
    assertThat(SessionState.fromWire(s.name())).isSameAs(s);
  }

  @Test
  void fromWireReturnsNullForUnknownNames() {
    assertThat(SessionState.fromWire("done")).isNull();
    assertThat(SessionState.fromWire("")).isNull();
    assertThat(SessionState.fromWire(null)).isNull();
  }

  @Test
  void onlyRunningIsNotFinal() {
    assertThat(SessionState.RUNNING.isFinal()).isFalse();
    assertThat(SessionState.COMPLETED.isFinal()).isTrue();
    assertThat(SessionState.FAILED.isFinal()).isTrue();
    assertThat(SessionState.CANCELLED.isFinal()).isTrue();
  }

  @Test
  void sessionDurationRunsUntilNowWhileRunning() {
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    Session running =
        new Session(
            "s", 1, "c", "d", null, null, SessionState.RUNNING, t0, null, null, null, false);

    assertThat(running.duration(t0.plusSeconds(7))).isEqualTo(Duration.ofSeconds(7));
    assertThat(running.isRunning()).isTrue();
  }
}
