package org.aiphub.bench.loadgen;

import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.TaskStatus;

/** A constellation's receiving side: books acks, results and errors in the ledger. */
final class SimConstellation implements ClientBehaviour {
  private final TaskLedger ledger;

  SimConstellation(TaskLedger ledger) {
    this.ledger = ledger;
  }

  @Override
  public void onMessage(WsClient client, ServerMessage m) {
    long now = System.nanoTime();
    switch (m.type()) {
      case TASK_END:
        ledger.taskEnd(
            Frames.seq(m.sessionId()), m.status() == TaskStatus.COMPLETED, m.error(), now);
        break;
      case HEARTBEAT:
        if (m.sessionId() != null) {
          ledger.ack();
        }
        break;
      case ERROR:
        ledger.errorFrame(m.sessionId(), m.error());
        break;
      default:
        break;
    }
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
