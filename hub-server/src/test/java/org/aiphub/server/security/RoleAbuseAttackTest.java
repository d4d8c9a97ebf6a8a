package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 5: a client doing what its role does not allow. A device sending a constellation-style
 * task at another device, a device asking for another device's info, a constellation reporting
 * device info or ending sessions, and a constellation scoped to one device reaching for another:
 * all refused with a reason, nothing leaks, nothing changes.
 */
class RoleAbuseAttackTest {
  private static final String MALLORY_DEV = "mallory-dev";

  @Test
  void aDeviceCannotSendTasksNorReadAnotherDevicesInfo() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.device(MALLORY_DEV);
      Arena.Bookkeeping before = a.bookkeeping();

      Map<String, Object> task = Frames.of("task", "continue", "device", MALLORY_DEV);
      task.put("target_id", Arena.DEVICE);
      task.put("session_id", "device-started");
      task.put("request", "format the disk");
      mallory.send(Frames.json(task));
      ServerMessage refusal =
          Arena.assertTaskRefused(mallory, "device-started", "devices cannot start tasks");
      assertThat(refusal.result()).isNull();

      mallory.send(Frames.infoRequest("device", MALLORY_DEV, Arena.DEVICE, "peek-1"));
      ServerMessage info = Arena.assertError(mallory.next(), "only constellations may request");
      assertThat(info.result()).as("no system info leaks").isNull();

      assertThat(a.sessions().get("device-started")).isEmpty();
      Arena.assertOnlyAnswer(mallory, MALLORY_DEV);
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aConstellationCannotActAsADevice() {
    try (Arena a = Arena.start()) {
      WsClient mallory = a.constellation("mallory-galaxy");
      Arena.Bookkeeping before = a.bookkeeping();
      mallory.send(
          Frames.infoResponse("constellation", "mallory-galaxy", Map.of("platform", "hacked")));
      Arena.assertError(mallory.next(), "only devices report device info");
      Map<String, Object> end =
          Frames.of("task_end", "completed", "constellation", "mallory-galaxy");
      end.put("session_id", Arena.SESSION);
      end.put("result", "forged");
      mallory.send(Frames.json(end));
      Arena.assertError(mallory.next(), "only the device running a session can end it");
      // A task for a constellation: only devices run tasks.
      mallory.send(Frames.task("mallory-galaxy", Arena.OWNER, "to-a-constellation", "x"));
      Arena.assertTaskRefused(
          mallory, "to-a-constellation", "target device 'innocent-galaxy' is not connected");
      assertThat(a.sessions().get("to-a-constellation")).isEmpty();
      Arena.assertOnlyAnswer(mallory, "mallory-galaxy");
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aConstellationScopedToOneDeviceCannotReachAnother() {
    try (Arena a = Arena.start()) {
      WsClient own = a.device(MALLORY_DEV);
      WsClient scoped = a.registered(Frames.registerConstellation("scoped-galaxy", MALLORY_DEV));
      Arena.Bookkeeping before = a.bookkeeping();

      scoped.send(Frames.infoRequest("constellation", "scoped-galaxy", Arena.DEVICE, "peek-2"));
      ServerMessage info = scoped.next();
      assertThat(info.type()).isEqualTo(ServerMessageType.DEVICE_INFO_RESPONSE);
      assertThat(info.status()).isEqualTo(TaskStatus.ERROR);
      assertThat(info.error()).contains("registered for device 'mallory-dev'", "may only ask");
      assertThat(info.result()).as("no system info leaks").isNull();
      assertThat(info.responseId()).isEqualTo("peek-2");

      scoped.send(Frames.task("scoped-galaxy", Arena.DEVICE, "out-of-scope", "x"));
      Arena.assertTaskRefused(scoped, "out-of-scope", "may only send tasks to it");
      assertThat(a.sessions().get("out-of-scope")).isEmpty();
      assertThat(a.bookkeeping()).isEqualTo(before);

      // Its own device is within reach, so the refusals above were about scope alone.
      scoped.send(Frames.infoRequest("constellation", "scoped-galaxy", MALLORY_DEV, "own"));
      ServerMessage ownInfo = scoped.next();
      assertThat(ownInfo.status()).isEqualTo(TaskStatus.OK);
      assertThat(ownInfo.result()).isInstanceOf(Map.class);
      Arena.assertOnlyAnswer(own, MALLORY_DEV);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aConstellationCannotScopeItselfToAnotherConstellation() {
    try (Arena a = Arena.start()) {
      WsClient c = a.connect();
      c.send(Frames.registerConstellation("scoped-galaxy", Arena.OWNER));
      Arena.assertError(c.next(), "target device 'innocent-galaxy' is not connected");
      assertThat(c.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      assertThat(a.registry().isOnline("scoped-galaxy")).isFalse();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
