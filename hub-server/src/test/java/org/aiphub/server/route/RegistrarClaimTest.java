package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.SessionTable;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.core.testing.ManualClock;
import org.aiphub.server.directory.ClientDirectory;
import org.aiphub.server.testing.ManualDirectory;
import org.junit.jupiter.api.Test;

/**
 * Registration with a {@link ClientDirectory} that answers later: the router claims the id before
 * the registry enters the client and before any reply, waits for the answer, and releases a claim
 * whose registration did not happen or whose client left.
 */
class RegistrarClaimTest {
  private final ManualClock clock = new ManualClock();
  private final RecordingRouterEvents events = new RecordingRouterEvents();
  private final ClientRegistry registry = ClientRegistry.builder().clock(clock).build();
  private final SessionTable sessions = new SessionTable(100, Duration.ofHours(1), clock);
  private final ManualDirectory directory = new ManualDirectory();
  private final TaskRouter router = new TaskRouter(registry, sessions, clock, events, directory);

  private static ClientMessage registerDevice(String id) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(id)
        .metadata(Map.of("platform", "linux"))
        .build();
  }

  private static ClientMessage task(String from, String target, String sessionId) {
    return ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
        .clientType(ClientType.CONSTELLATION)
        .clientId(from)
        .targetId(target)
        .sessionId(sessionId)
        .taskName("t")
        .request("do it")
        .build();
  }

  private Registration.Pending pending(FakeConnection conn, ClientMessage m) {
    Registration r = router.register(conn, m);
    assertThat(r).isInstanceOf(Registration.Pending.class);
    return (Registration.Pending) r;
  }

  @Test
  void theRegistrationWaitsForTheClaimBeforeAnythingIsEnteredOrSent() {
    FakeConnection conn = new FakeConnection("c1");
    Registration.Pending p = pending(conn, registerDevice("dev-1"));

    assertThat(directory.open())
        .singleElement()
        .satisfies(
            o -> {
              assertThat(o.claimant().clientId()).isEqualTo("dev-1");
              assertThat(o.claimant().clientType()).isEqualTo(ClientType.DEVICE);
              assertThat(o.claimant().connection()).isSameAs(conn);
            });
    assertThat(p.clientId()).isEqualTo("dev-1");
    assertThat(p.settled().toCompletableFuture()).isNotDone();
    assertThat(conn.sent()).isEmpty();
    assertThat(registry.isOnline("dev-1")).isFalse();
    assertThat(events.lines()).isEmpty();

    directory.claimed("dev-1");
    assertThat(p.settled().toCompletableFuture()).isDone();
    Registration r = router.resume(conn, p);

    assertThat(r).isInstanceOf(Registration.Registered.class);
    assertThat(conn.single().type()).isEqualTo(ServerMessageType.HEARTBEAT);
    assertThat(conn.single().status()).isEqualTo(TaskStatus.OK);
    assertThat(registry.isDeviceConnected("dev-1")).isTrue();
    assertThat(directory.releases()).isEmpty();
  }

  @Test
  void aClaimHeldOnAnotherNodeRefusesTheRegistrationNamingTheHolder() {
    FakeConnection conn = new FakeConnection("c1");
    Registration.Pending p = pending(conn, registerDevice("dev-1"));

    directory.heldElsewhere(
        "dev-1", new ClientDirectory.HeldElsewhere("node-b", ClientType.DEVICE));
    Registration r = router.resume(conn, p);

    assertThat(r).isInstanceOf(Registration.Refused.class);
    Registration.Refused refused = (Registration.Refused) r;
    assertThat(refused.outcome()).isEqualTo("duplicate");
    assertThat(refused.reason()).contains("'dev-1'").contains("hub node 'node-b'");
    ServerMessage error = conn.single();
    assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(error.error()).isEqualTo(refused.reason());
    assertThat(registry.isOnline("dev-1")).isFalse();
    assertThat(directory.releases()).isEmpty(); // nothing was claimed here
  }

  @Test
  void aDirectoryThatFailsRefusesTheRegistration() {
    FakeConnection conn = new FakeConnection("c1");
    Registration.Pending p = pending(conn, registerDevice("dev-1"));

    directory.fail("dev-1");
    Registration r = router.resume(conn, p);

    assertThat(r).isInstanceOf(Registration.Refused.class);
    assertThat(((Registration.Refused) r).outcome()).isEqualTo("directory_unavailable");
    assertThat(conn.single().type()).isEqualTo(ServerMessageType.ERROR);
    assertThat(conn.single().error()).doesNotContain("store unreachable");
    assertThat(registry.isOnline("dev-1")).isFalse();
  }

  @Test
  void aDirectoryThatAnswersNothingRefusesTheRegistration() {
    FakeConnection conn = new FakeConnection("c1");
    Registration.Pending p = pending(conn, registerDevice("dev-1"));

    directory.answerNull("dev-1");
    Registration r = router.resume(conn, p);

    assertThat(r).isInstanceOf(Registration.Refused.class);
    assertThat(((Registration.Refused) r).outcome()).isEqualTo("directory_unavailable");
    assertThat(registry.isOnline("dev-1")).isFalse();
  }

  @Test
  void aClaimedRegistrationTheRegistryRefusesIsReleased() {
    FakeConnection first = new FakeConnection("c1");
    Registration.Pending p1 = pending(first, registerDevice("dev-1"));
    directory.claimed("dev-1");
    assertThat(router.resume(first, p1)).isInstanceOf(Registration.Registered.class);

    FakeConnection second = new FakeConnection("c2");
    Registration.Pending p2 = pending(second, registerDevice("dev-1"));
    directory.claimed("dev-1"); // held on this node: the local registry decides
    Registration r = router.resume(second, p2);

    assertThat(r).isInstanceOf(Registration.Refused.class);
    assertThat(((Registration.Refused) r).outcome()).isEqualTo("duplicate");
    assertThat(directory.releases()).containsExactly(new ManualDirectory.Release("dev-1", second));
    assertThat(registry.getClient("dev-1")).containsSame(first);
  }

  @Test
  void anAbandonedRegistrationReleasesItsClaimOnceAnswered() {
    FakeConnection conn = new FakeConnection("c1");
    Registration.Pending p = pending(conn, registerDevice("dev-1"));

    router.abandon(conn, p);
    assertThat(directory.releases()).isEmpty();
    directory.claimed("dev-1");

    assertThat(directory.releases()).containsExactly(new ManualDirectory.Release("dev-1", conn));
    assertThat(registry.isOnline("dev-1")).isFalse();
    assertThat(conn.sent()).isEmpty();
  }

  @Test
  void aDepartureReleasesTheClaim() {
    FakeConnection conn = new FakeConnection("c1");
    Registration.Pending p = pending(conn, registerDevice("dev-1"));
    directory.claimed("dev-1");
    Identity id = ((Registration.Registered) router.resume(conn, p)).identity();

    router.disconnected(conn, id);

    assertThat(directory.releases()).containsExactly(new ManualDirectory.Release("dev-1", conn));
  }

  @Test
  void aTaskForATargetTheDirectoryPlacesOnAnotherNodeSaysWhere() {
    FakeConnection galaxy = new FakeConnection("g");
    Registration.Pending p =
        pending(
            galaxy,
            ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
                .clientType(ClientType.CONSTELLATION)
                .clientId("galaxy")
                .build());
    directory.claimed("galaxy");
    Identity id = ((Registration.Registered) router.resume(galaxy, p)).identity();
    directory.place("dev-far", new ClientDirectory.Location("node-b", ClientType.DEVICE));
    galaxy.clear();

    router.handle(galaxy, id, task("galaxy", "dev-far", "s1"), System.nanoTime());
    router.handle(galaxy, id, task("galaxy", "dev-none", "s2"), System.nanoTime());

    assertThat(galaxy.sent(ServerMessageType.ERROR))
        .extracting(ServerMessage::error)
        .containsExactly(
            "target device 'dev-far' is connected to hub node 'node-b', which this node cannot"
                + " reach yet",
            "target device 'dev-none' is not connected");
    assertThat(events.lines())
        .containsSubsequence("refused galaxy target_unreachable", "refused galaxy target_offline");
  }
}
