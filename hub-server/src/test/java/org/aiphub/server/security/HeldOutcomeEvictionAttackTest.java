package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.HELD_AGE;
import static org.aiphub.server.config.Settings.HELD_BYTES;
import static org.aiphub.server.config.Settings.HELD_BYTES_PER_OWNER;
import static org.aiphub.server.config.Settings.HELD_OUTCOMES_PER_OWNER;
import static org.aiphub.server.config.Settings.HISTORY_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import java.time.Duration;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 8: an outcome held for an offline owner lived in the session history, so
 * another client's traffic evicted it (2,000 tiny sessions with {@code history_size: 2000}: the
 * held outcome was gone, 404 over HTTP and nothing on reconnect). Held outcomes now live in their
 * own store, bounded per owner and in total, and leave only by age or delivery; what does not fit
 * is dropped with a WARN line and {@code hub_held_outcomes_dropped_total{reason}}.
 */
class HeldOutcomeEvictionAttackTest {
  private static final String AWAY = "away-galaxy";
  private static final String AWAY_DEV = "away-dev";
  private static final String AWAY_SESSION = "away-session";
  private static final String MALLORY = "mallory-galaxy";
  private static final String MALLORY_DEV = "mallory-dev";
  private static final String DROPPED = "hub_held_outcomes_dropped_total";

  /**
   * The away owner starts a task on its device and leaves: the session is cancelled, and its
   * outcome is held for it.
   */
  private static void awayOwnerLeavesAnOutcome(Arena a) {
    a.device(AWAY_DEV);
    WsClient away = a.connect();
    away.send(JsonFrames.registerConstellation(AWAY));
    Clients.assertRegistered(away.next());
    Clients.startTask(away, AWAY, AWAY_DEV, AWAY_SESSION);
    away.close();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> a.sessions().get(AWAY_SESSION).map(s -> s.held()).orElse(false));
  }

  /** Runs {@code n} tiny sessions between mallory's constellation and device, in batches. */
  private static void flood(WsClient mallory, WsClient device, String prefix, int n) {
    int batch = 100;
    for (int start = 0; start < n; start += batch) {
      int end = Math.min(n, start + batch);
      for (int i = start; i < end; i++) {
        mallory.send(JsonFrames.task(MALLORY, MALLORY_DEV, prefix + i, "t", "tiny"));
      }
      for (int i = start; i < end; i++) {
        assertThat(mallory.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);
      }
      for (int i = start; i < end; i++) {
        String sid = device.next().sessionId();
        device.send(JsonFrames.taskEnd(MALLORY_DEV, sid, "completed", "ok", null));
      }
      for (int i = start; i < end; i++) {
        assertThat(mallory.next().type()).isEqualTo(ServerMessageType.TASK_END);
      }
    }
  }

  /** The away owner registers again: the registration reply, then its held outcome. */
  private static void awayOwnerGetsItsOutcome(Arena a) {
    WsClient back = a.connect();
    back.send(JsonFrames.registerConstellation(AWAY));
    Clients.assertRegistered(back.next());
    ServerMessage end = back.next();
    assertThat(end.type()).as("held frame %s", end).isEqualTo(ServerMessageType.TASK_END);
    assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
    assertThat(end.sessionId()).isEqualTo(AWAY_SESSION);
    assertThat(end.error()).isEqualTo("constellation_disconnected");
    Arena.assertOnlyAnswer(back, AWAY);
  }

  @Test
  void anotherClientsTrafficNeverEvictsAHeldOutcome() {
    try (Arena a = Arena.start(b -> b.set(HISTORY_SIZE, 2000))) {
      awayOwnerLeavesAnOutcome(a);
      WsClient device = a.device(MALLORY_DEV);
      WsClient mallory = a.constellation(MALLORY);

      flood(mallory, device, "flood-", 2100);

      assertThat(a.sessions().historySize()).isEqualTo(2000);
      assertThat(a.http().get("/api/sessions/" + AWAY_SESSION).ok(200))
          .containsEntry("held_for_owner", true)
          .containsEntry("owner", AWAY);
      // The id stays refused to others while its outcome waits.
      mallory.send(JsonFrames.task(MALLORY, MALLORY_DEV, AWAY_SESSION, "t", "steal"));
      Arena.assertTaskRefused(mallory, AWAY_SESSION, "its outcome is held");
      for (String reason : new String[] {"age", "owner_limit", "hub_limit"}) {
        assertThat(a.scraped(DROPPED, "reason", reason)).as(reason).isZero();
      }

      awayOwnerGetsItsOutcome(a);
      assertThat(a.sessions().counts().held()).isZero();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void anOwnerPastItsHeldLimitLosesOnlyItsOwnNewOutcomes() {
    try (LogCapture logs = LogCapture.attach(Level.WARN, "org.aiphub.sessions");
        Arena a = Arena.start(b -> b.set(HELD_OUTCOMES_PER_OWNER, 3))) {
      awayOwnerLeavesAnOutcome(a);
      a.device(MALLORY_DEV);
      WsClient mallory = a.connect();
      mallory.send(JsonFrames.registerConstellation(MALLORY));
      Clients.assertRegistered(mallory.next());
      for (int i = 0; i < 10; i++) {
        Clients.startTask(mallory, MALLORY, MALLORY_DEV, "m-" + i);
      }

      mallory.close(); // ten cancellations for an offline owner: three fit

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> a.scraped(DROPPED, "reason", "owner_limit") == 7);
      assertThat(a.sessions().counts().held()).isEqualTo(4);
      assertThat(a.scraped(DROPPED, "reason", "hub_limit")).isZero();
      assertThat(logs.messages("org.aiphub.sessions"))
          .hasSize(7)
          .allMatch(m -> m.startsWith("dropped the held outcome of session m-"))
          .allMatch(m -> m.contains("held_outcomes_per_owner"));
      // A dropped outcome does not keep its id: anyone may use it.
      WsClient other = a.constellation("other-galaxy");
      Clients.startTask(other, "other-galaxy", MALLORY_DEV, "m-9");
      awayOwnerGetsItsOutcome(a);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void pastTheHubsHeldBytesNewOutcomesAreDroppedAndHeldOnesStay() {
    try (Arena a =
        Arena.start(
            b ->
                b.set(HELD_BYTES, 64L * 1024)
                    .set(HELD_BYTES_PER_OWNER, 1024L * 1024)
                    .set(HELD_OUTCOMES_PER_OWNER, 10_000))) {
      awayOwnerLeavesAnOutcome(a);
      a.device(MALLORY_DEV);
      WsClient mallory = a.connect();
      mallory.send(JsonFrames.registerConstellation(MALLORY));
      Clients.assertRegistered(mallory.next());
      for (int i = 0; i < 300; i++) {
        Clients.startTask(mallory, MALLORY, MALLORY_DEV, "m-" + i);
      }

      mallory.close();

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> a.scraped(DROPPED, "reason", "hub_limit") > 0);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  a.sessions().counts().held() + a.scraped(DROPPED, "reason", "hub_limit") == 301);
      assertThat(a.sessions().heldSizes().bytes()).isLessThanOrEqualTo(64L * 1024);
      assertThat(a.scraped("hub_held_outcome_bytes")).isLessThanOrEqualTo(64.0 * 1024);
      awayOwnerGetsItsOutcome(a);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void aHeldOutcomeLeavesByItsAgeWithAWarning() {
    try (LogCapture logs = LogCapture.attach(Level.WARN, "org.aiphub.sessions");
        Arena a = Arena.start(b -> b.set(HELD_AGE, Duration.ofMillis(300)))) {
      awayOwnerLeavesAnOutcome(a);
      await().pollDelay(Duration.ofMillis(400)).until(() -> true);

      WsClient back = a.connect();
      back.send(JsonFrames.registerConstellation(AWAY));
      Clients.assertRegistered(back.next());
      Arena.assertOnlyAnswer(back, AWAY); // nothing held any more

      assertThat(a.scraped(DROPPED, "reason", "age")).isEqualTo(1);
      assertThat(logs.messages("org.aiphub.sessions"))
          .singleElement()
          .satisfies(
              m ->
                  assertThat(m)
                      .contains("session " + AWAY_SESSION + " ")
                      .contains("owner " + AWAY + ":")
                      .contains("held_age"));
      Map<String, Object> record = a.http().get("/api/sessions/" + AWAY_SESSION).ok(200);
      assertThat(record).containsEntry("held_for_owner", false);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
