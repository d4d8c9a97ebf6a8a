package org.aiphub.core.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.testing.FakeConnection;
import org.junit.jupiter.api.Test;

class ClientConnectionTest {
  @Test
  void deliverFallsBackToSendWithoutReportingAFailure() {
    FakeConnection c = new FakeConnection("c");
    ServerMessage m = ServerMessage.builder(ServerMessageType.HEARTBEAT, TaskStatus.OK).build();
    AtomicBoolean failed = new AtomicBoolean();

    c.deliver(m, () -> failed.set(true));

    assertThat(c.sent()).containsExactly(m);
    assertThat(failed).isFalse();
  }
}
