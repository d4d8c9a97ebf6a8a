package org.aiphub.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;

/**
 * A constellation floods a device that never reads with large tasks until the hub gives up on the
 * device, and meanwhile keeps a round trip going with a healthy device. Records what the owner
 * received: accepted and refused tasks, and every {@code task_end}.
 */
public final class SlowConsumerFlood {
  /** Size of each task's request: about 256 KB. */
  public static final int REQUEST_BYTES = 256 * 1024;

  private final WsClient owner;
  private final String ownerId;

  /** Tasks for the slow device that the hub accepted. */
  public final List<String> accepted = new ArrayList<>();

  /** Tasks for the slow device that the hub refused (it was gone). */
  public final List<String> refused = new ArrayList<>();

  /** Every {@code task_end} the owner got, by session. */
  public final Map<String, ServerMessage> ends = new LinkedHashMap<>();

  /** Refused tasks whose failed {@code task_end} is still to come, with the refusal's reason. */
  private final Map<String, String> refusalEnds = new LinkedHashMap<>();

  /** {@link System#nanoTime} when the owner's latest {@code task_end} was read. */
  public long lastEndNanos;

  /** Round trips with the healthy device completed during the flood. */
  public int servedMeanwhile;

  private SlowConsumerFlood(WsClient owner, String ownerId) {
    this.owner = owner;
    this.ownerId = ownerId;
  }

  /**
   * Floods {@code slowId} until the registry no longer has it (failing after {@code maxTasks}),
   * with a round trip to {@code otherId} every fourth task, then waits for the outcome of every
   * accepted task.
   */
  public static SlowConsumerFlood run(
      TestHub hub,
      WsClient owner,
      String ownerId,
      String slowId,
      WsClient other,
      String otherId,
      int maxTasks) {
    SlowConsumerFlood f = new SlowConsumerFlood(owner, ownerId);
    String big = ClientFrames.filler(REQUEST_BYTES);
    for (int i = 0; hub.server().registry().isDeviceConnected(slowId); i++) {
      assertThat(i).as("the hub kept buffering for a device that never reads").isLessThan(maxTasks);
      String s = "flood-" + i;
      owner.send(ClientFrames.task(ownerId, slowId, s, big));
      if (f.answer(s)) {
        f.accepted.add(s);
      } else {
        f.refused.add(s);
      }
      if (i % 4 == 0) {
        f.roundTrip(other, otherId, "other-" + i);
      }
    }
    while (!f.ends.keySet().containsAll(f.accepted) || !f.refusalEnds.isEmpty()) {
      f.take(owner.next());
    }
    owner.expectNothing(java.time.Duration.ofMillis(200));
    return f;
  }

  /** One task to the healthy device, answered, and its outcome back at the owner. */
  public void roundTrip(WsClient other, String otherId, String s) {
    owner.send(ClientFrames.task(ownerId, otherId, s, "small"));
    assertThat(answer(s)).as("task %s for the healthy device accepted", s).isTrue();
    ServerMessage task = other.next();
    assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
    assertThat(task.sessionId()).isEqualTo(s);
    other.send(ClientFrames.taskEnd(otherId, s, "{\"ok\":true}"));
    while (!ends.containsKey(s)) {
      take(owner.next());
    }
    assertThat(ends.get(s).status()).isEqualTo(TaskStatus.COMPLETED);
    servedMeanwhile++;
  }

  /** Reads until the ack (true) or the refusal (false) of {@code s}, keeping task_ends. */
  private boolean answer(String s) {
    while (true) {
      ServerMessage m = owner.next();
      if (s.equals(m.sessionId()) && m.type() == ServerMessageType.HEARTBEAT) {
        return true;
      }
      if (s.equals(m.sessionId()) && m.type() == ServerMessageType.ERROR) {
        assertThat(m.error()).contains("not connected");
        // A refused task with a session id ends at once: its failed task_end follows the error,
        // possibly after outcomes of accepted tasks written from the device's event loop.
        refusalEnds.put(s, m.error());
        return false;
      }
      take(m);
    }
  }

  private void take(ServerMessage m) {
    assertThat(m.type()).as("unexpected frame %s", m).isEqualTo(ServerMessageType.TASK_END);
    String refusal = refusalEnds.remove(m.sessionId());
    if (refusal != null) {
      assertThat(m.status()).isEqualTo(TaskStatus.FAILED);
      assertThat(m.error()).isEqualTo(refusal);
      return;
    }
    assertThat(ends.put(m.sessionId(), m)).as("second task_end for %s", m.sessionId()).isNull();
    lastEndNanos = System.nanoTime();
  }
}
