package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 4: after registering as itself, a client sends frames that claim another {@code client_id}
 * or another {@code client_type}. Every such frame is refused with an error naming the mismatch,
 * changes nothing, and the attacker's connection stays open; handlers only ever use the identity
 * bound at registration.
 */
class SpoofingAttackTest {
  private static final String MALLORY_DEV = "mallory-dev";
  private static final String MALLORY = "mallory-galaxy";

  @Test
  void aDeviceClaimingAnotherClientIdIsRefusedAndChangesNothing() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.device(MALLORY_DEV);
      Arena.Bookkeeping before = a.bookkeeping();
      String mismatch = "client_id 'innocent-dev' does not match the registered id 'mallory-dev'";
      List<String> spoofs =
          List.of(
              Frames.taskEnd(Arena.DEVICE, Arena.SESSION, "completed", Map.of("rows", 0)),
              Frames.taskEnd(Arena.DEVICE, Arena.SESSION, "failed", null),
              Frames.deviceError(Arena.DEVICE, Arena.SESSION, "disk on fire"),
              Frames.infoResponse("device", Arena.DEVICE, Map.of("platform", "hacked")),
              Frames.heartbeat(Arena.DEVICE));
      for (String spoof : spoofs) {
        mallory.send(spoof);
        Arena.assertError(mallory.next(), mismatch);
      }
      mallory.send(Frames.heartbeat(Arena.OWNER));
      Arena.assertError(mallory.next(), "client_id 'innocent-galaxy' does not match");
      // Without any client_id the frame is judged as mallory's own: not the session's executor.
      mallory.send(Frames.taskEnd(null, Arena.SESSION, "completed", Map.of("rows", 0)));
      Arena.assertError(mallory.next(), "no running session 'innocent-session' on this device");

      Arena.assertOnlyAnswer(mallory, MALLORY_DEV);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aConstellationClaimingAnotherClientIdIsRefusedAndStartsNothing() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.constellation(MALLORY);
      Arena.Bookkeeping before = a.bookkeeping();
      String mismatch =
          "client_id 'innocent-galaxy' does not match the registered id 'mallory-galaxy'";
      mallory.send(Frames.task(Arena.OWNER, Arena.DEVICE, "in-your-name", "transfer funds"));
      Arena.assertTaskRefused(mallory, "in-your-name", mismatch);
      mallory.send(Frames.infoRequest("constellation", Arena.OWNER, Arena.DEVICE, "r1"));
      Arena.assertError(mallory.next(), mismatch);
      assertThat(a.sessions().get("in-your-name")).isEmpty();
      Arena.assertOnlyAnswer(mallory, MALLORY);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void framesClaimingTheOtherClientTypeAreRefused() {
    try (Arena a = Arena.start()) {
      WsClient malloryDevice = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);
      Arena.Bookkeeping before = a.bookkeeping();

      // A device dressing up as a constellation to start a task on the innocent device.
      Map<String, Object> task = Frames.of("task", "continue", "constellation", MALLORY_DEV);
      task.put("target_id", Arena.DEVICE);
      task.put("request", "run this");
      malloryDevice.send(Frames.json(task));
      Arena.assertError(
          malloryDevice.next(),
          "client_type 'constellation' does not match the registered type 'device'");

      // A constellation dressing up as a device to end, fail or describe the innocent's work.
      String typeMismatch =
          "client_type 'device' does not match the registered type 'constellation'";
      for (String spoof :
          List.of(
              Frames.taskEnd(MALLORY, Arena.SESSION, "completed", "forged"),
              Frames.deviceError(MALLORY, Arena.SESSION, "forged failure"),
              Frames.infoResponse("device", MALLORY, Map.of("platform", "hacked")))) {
        mallory.send(spoof);
        Arena.assertError(mallory.next(), typeMismatch);
      }
      Arena.assertOnlyAnswer(malloryDevice, MALLORY_DEV);
      Arena.assertOnlyAnswer(mallory, MALLORY);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
