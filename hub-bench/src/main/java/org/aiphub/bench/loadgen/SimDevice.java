package org.aiphub.bench.loadgen;

import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;

/**
 * A device that answers every {@code task} with a completed {@code task_end} (after an optional
 * delay), naming the session's owner as {@code target_id} so a relay can route it.
 */
final class SimDevice implements ClientBehaviour {
  private final TaskLedger ledger;
  private final long delayNanos;

  SimDevice(TaskLedger ledger, long delayNanos) {
    this.ledger = ledger;
    this.delayNanos = delayNanos;
  }

  @Override
  public void onMessage(WsClient client, ServerMessage m) {
    if (m.type() == ServerMessageType.TASK) {
      String session = m.sessionId();
      if (delayNanos <= 0) {
        client.send(Frames.taskEnd(client.id(), session));
      } else {
        client
            .channel()
            .eventLoop()
            .schedule(
                () -> client.send(Frames.taskEnd(client.id(), session)),
                delayNanos,
                TimeUnit.NANOSECONDS);
      }
    } else if (m.type() == ServerMessageType.ERROR) {
      ledger.errorFrame(m.sessionId(), m.error());
    }
    // heartbeats and the hub's cancellations (task_end to a device) need no answer
  }

  @Override
  public void onUndecodable(WsClient client, String problem) {
    ledger.undecodable(problem);
  }

  @Override
  public void onClosed(WsClient client) {
    ledger.disconnected(client.id());
  }
}
