package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.RawWsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 8: {@code task_end}, {@code command_results} and {@code error} frames for session ids the
 * hub never saw, 100,000 of them pipelined on one socket. Each is answered with an error naming the
 * session and dropped: no session appears, no registry set or session id inside one, no history
 * entry, internal map entry (the dashboard state's included) or meter is created ({@link HubState}
 * reads them all), and the connection survives (these are refusals, not bad frames, so they do not
 * count against the bad-frame budget).
 */
class PhantomSessionAttackTest {
  private static final String PHANTOM_DEV = "phantom-dev";
  private static final int FRAMES = 100_000;
  private static final int BATCH = 1_000;

  @Test
  void framesForUnknownSessionsAreRefusedAndCreateNothingEvenAHundredThousandTimes()
      throws Exception {
    try (Arena a = Arena.start()) {
      RawSocket s = a.socket();
      s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
      assertThat(s.readReply().status()).isEqualTo(101);
      s.write(RawSocket.text(ClientFrames.registerDevice(PHANTOM_DEV)));
      Clients.assertRegistered(s.readFrame().message());

      // Warm up: the first refusal of each kind may create its labelled counter, once.
      for (int i = 0; i < 3; i++) {
        s.write(frame(-1 - i));
        assertRefusal(s.readFrame(), -1 - i);
      }
      Arena.Bookkeeping before = a.bookkeeping();
      long meters = HubState.hubMeters(a.hub().server());

      CompletableFuture<Integer> replies =
          CompletableFuture.supplyAsync(
              () -> {
                for (int i = 0; i < FRAMES; i++) {
                  assertRefusal(s.readFrame(), i);
                }
                return FRAMES;
              });
      for (int start = 0; start < FRAMES; start += BATCH) {
        ByteArrayOutputStream batch = new ByteArrayOutputStream(BATCH * 200);
        for (int i = start; i < start + BATCH; i++) {
          batch.writeBytes(frame(i));
        }
        s.write(batch.toByteArray());
      }
      assertThat(replies.get(90, TimeUnit.SECONDS)).isEqualTo(FRAMES);

      assertThat(a.bookkeeping()).isEqualTo(before);
      assertThat(HubState.hubMeters(a.hub().server())).isEqualTo(meters);
      for (int i = 0; i < FRAMES; i += 9_973) {
        assertThat(a.sessions().get(id(i))).isEmpty();
        assertThat(a.registry().getSessionExecutor(id(i))).isEmpty();
      }
      assertThat(a.registry().getDeviceSessions(PHANTOM_DEV)).isEmpty();
      // Still connected and served.
      s.write(RawSocket.text(Frames.heartbeat(PHANTOM_DEV)));
      ServerMessage ack = s.readFrame().message();
      assertThat(ack.type()).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.sessionId()).isNull();
      assertThat(a.registry().isDeviceConnected(PHANTOM_DEV)).isTrue();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  private static String id(int i) {
    return "phantom-" + i;
  }

  /** Frame {@code i}: a task_end, a command_results or an error, in turn, for a fresh id. */
  private static byte[] frame(int i) {
    switch (Math.floorMod(i, 3)) {
      case 0:
        return RawSocket.text(Frames.taskEnd(PHANTOM_DEV, id(i), "completed", "fake result"));
      case 1:
        return RawSocket.text(Frames.commandResults(PHANTOM_DEV, id(i)));
      default:
        return RawSocket.text(Frames.deviceError(PHANTOM_DEV, id(i), "fake failure"));
    }
  }

  private static void assertRefusal(RawWsClient.Frame f, int i) {
    assertThat(f).as("reply %d", i).isNotNull();
    ServerMessage m = f.message();
    assertThat(m.type()).as("reply %d: %s", i, m).isEqualTo(ServerMessageType.ERROR);
    assertThat(m.sessionId()).as("reply %d", i).isEqualTo(id(i));
    assertThat(m.error())
        .as("reply %d", i)
        .contains(
            Math.floorMod(i, 3) == 1
                ? "unsupported message type 'command_results'"
                : "no running session '" + id(i) + "' on this device");
  }
}
