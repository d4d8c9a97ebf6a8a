package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.DUPLICATE_POLICY;
import static org.aiphub.server.config.Settings.PROBE_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attack 3: registering with a {@code client_id} whose holder is alive. Under the default reject
 * policy the newcomer gets an error and 1008 (the holder is pinged first and answers, so it keeps
 * its place); under the takeover policy only a client that proves the id's own credential may take
 * it over, and never across client types.
 */
class DuplicateIdAttackTest {
  /** Only an upper bound: a live holder answers the probe's ping at once. */
  private static final Duration PROBE = Duration.ofSeconds(5);

  @Test
  void underRejectANewcomerWithALiveHoldersIdIsRefusedAndClosed() {
    try (Arena a = Arena.start(b -> b.set(PROBE_TIMEOUT, PROBE))) {
      List<String> frames =
          List.of(
              JsonFrames.registerDevice(Arena.DEVICE, "windows", List.of("evil")),
              JsonFrames.registerConstellation(Arena.OWNER),
              // the same ids claimed with the other client type
              JsonFrames.registerConstellation(Arena.DEVICE),
              JsonFrames.registerDevice(Arena.OWNER, "linux", List.of()));
      for (String frame : frames) {
        WsClient attacker = a.connect();
        attacker.send(frame);
        Arena.assertError(attacker.next(), "is already registered");
        assertThat(attacker.awaitClose()).as(frame).isEqualTo(CloseCodes.POLICY_VIOLATION);
        assertThat(Clients.drain(attacker)).as("nothing after the refusal").isEmpty();
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void manySimultaneousClaimsOfALiveIdAreAllRefused() throws Exception {
    try (Arena a = Arena.start(b -> b.set(PROBE_TIMEOUT, PROBE))) {
      List<WsClient> attackers = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        attackers.add(a.connect());
      }
      List<CompletableFuture<Void>> sends = new ArrayList<>();
      for (WsClient c : attackers) {
        sends.add(
            CompletableFuture.runAsync(
                () -> c.send(JsonFrames.registerDevice(Arena.DEVICE, "linux", List.of()))));
      }
      CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0])).get();
      for (WsClient c : attackers) {
        Arena.assertError(c.next(), "is already registered");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void underTakeoverOnlyTheHolderOfTheIdsCredentialMayTakeItOver(@TempDir Path dir)
      throws Exception {
    String token = "guarded-device-token-0123456789";
    Path devices = dir.resolve("devices.json");
    Files.writeString(
        devices,
        "{\"devices\":{\"guarded-dev\":{\"token_sha256\":\""
            + ClientTokens.sha256Hex(token)
            + "\"}}}");
    try (Arena a =
        Arena.start(
            b -> b.set(DUPLICATE_POLICY, DuplicatePolicy.TAKEOVER).set(DEVICE_CONFIG, devices))) {
      WsClient guarded = a.registered(Frames.registerDevice("guarded-dev", token));
      WsClient guardedOwner = a.constellation("guarded-owner");
      guardedOwner.send(JsonFrames.task("guarded-owner", "guarded-dev", "guarded-1", "g", "work"));
      assertThat(guardedOwner.next().sessionId()).isEqualTo("guarded-1");
      assertThat(guarded.next().sessionId()).isEqualTo("guarded-1");
      ClientInfo held = a.registry().getClientInfo("guarded-dev").orElseThrow();

      for (String frame :
          List.of(
              Frames.registerDevice("guarded-dev", null),
              Frames.registerDevice("guarded-dev", "guessed-token-0123456789"),
              Frames.registerDevice("guarded-dev", token.toUpperCase(Locale.ROOT)))) {
        WsClient attacker = a.connect();
        attacker.send(frame);
        Arena.assertError(attacker.next(), "requires its own credential");
        assertThat(attacker.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
      }
      // Across client types no credential helps: a constellation cannot take a device's id.
      WsClient crossType = a.connect();
      crossType.send(JsonFrames.registerConstellation(Arena.DEVICE));
      Arena.assertError(crossType.next(), "a constellation cannot take it over");
      assertThat(crossType.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);

      assertThat(a.registry().getClientInfo("guarded-dev")).contains(held);
      assertThat(guarded.pending()).isZero();
      assertThat(guarded.isClosed()).isFalse();
      a.assertInnocentsUntouched();

      // The credential's holder takes over (a reconnect): the old socket is closed with 4000 and
      // the session goes on with the new one.
      WsClient again = a.registered(Frames.registerDevice("guarded-dev", token));
      assertThat(guarded.awaitClose()).isEqualTo(CloseCodes.TAKEN_OVER);
      assertThat(a.registry().getDeviceSessions("guarded-dev")).containsExactly("guarded-1");
      again.send(JsonFrames.taskEnd("guarded-dev", "guarded-1", "completed", "done", null));
      ServerMessage end = guardedOwner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
      assertThat(end.sessionId()).isEqualTo("guarded-1");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
