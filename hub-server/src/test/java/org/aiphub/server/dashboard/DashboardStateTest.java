package org.aiphub.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.SessionTable;
import org.aiphub.core.testing.FakeConnection;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.Registration;
import org.aiphub.server.route.TaskRouter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's deltas, driven by a real router: after each change, the delta must carry every
 * row whose displayed value changed, with its new value (the page only ever learns what a delta
 * names).
 */
class DashboardStateTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-25T14:30:00Z"), ZoneOffset.UTC);

  private ClientRegistry registry;
  private SessionTable sessions;
  private DashboardState state;
  private TaskRouter router;

  @BeforeEach
  void setUp() {
    registry =
        ClientRegistry.builder()
            .policy(DuplicatePolicy.TAKEOVER)
            .defaultMaxConcurrentTasks(4)
            .clock(CLOCK)
            .build();
    sessions = new SessionTable(100, Duration.ofHours(1), CLOCK);
    state = new DashboardState(registry, sessions, CLOCK, null);
    router = new TaskRouter(registry, sessions, CLOCK, state);
    state.viewerJoined();
  }

  @Test
  void aFinishedSessionUpdatesItsOwnersRunningCount() {
    Client device = register(device("d1"));
    Client galaxy = register(constellation("c1", null));
    galaxy.send(task("c1", "d1", "s1"));
    assertThat(clients(state.delta()).get("c1")).containsEntry("running", 1);

    device.send(taskEnd("d1", "s1"));
    Map<String, Object> delta = state.delta();
    assertThat(clients(delta)).containsKeys("d1", "c1");
    assertThat(clients(delta).get("c1")).containsEntry("running", 0);
    assertThat(clients(delta).get("d1")).containsEntry("running", 0);
  }

  @Test
  void aStartedSessionUpdatesBothRowsAndTheSessionsStarted() {
    register(device("d1"));
    Client galaxy = register(constellation("c1", "d1"));
    state.delta();

    galaxy.send(task("c1", "d1", "s1"));
    Map<String, Object> delta = state.delta();
    assertThat(clients(delta).get("c1"))
        .containsEntry("running", 1)
        .containsEntry("sessions_started", 1L)
        .containsEntry("target", "d1");
    assertThat(clients(delta).get("d1")).containsEntry("running", 1);
    assertThat(sessions(delta).get("s1")).containsEntry("state", "running");
  }

  @Test
  void aHeartbeatShowsOnItsRow() {
    Client device = register(device("d1"));
    state.delta();
    device.send(heartbeat("d1", ClientType.DEVICE));
    assertThat(clients(state.delta()).get("d1").get("last_heartbeat")).isNotNull();
  }

  /**
   * A takeover (the same id registering on a new connection) starts the row afresh, like its
   * "connected since": the new connection declares no target and has sent no heartbeat yet.
   */
  @Test
  void aTakeoverReplacesTheDeclaredTargetAndTheLastHeartbeat() {
    register(device("d1"));
    Client galaxy = register(constellation("c1", "d1"));
    galaxy.send(heartbeat("c1", ClientType.CONSTELLATION));
    galaxy.send(task("c1", "d1", "s1"));
    assertThat(clients(state.delta()).get("c1"))
        .containsEntry("target", "d1")
        .containsEntry("sessions_started", 1L)
        .doesNotContainEntry("last_heartbeat", null);

    register(constellation("c1", null));
    assertThat(clients(state.delta()).get("c1"))
        .containsEntry("target", null)
        .containsEntry("last_heartbeat", null)
        .containsEntry("sessions_started", 0L);
  }

  /**
   * The departure of an old connection reported after the id registered again (a quick reconnect
   * racing the old socket's cleanup) must not wipe what the new registration declared.
   */
  @Test
  void aLateDepartureLeavesTheNewRegistrationsRowAlone() {
    register(device("d1"));
    Client old = register(constellation("c1", "d1"));
    register(constellation("c1", "d1"));
    state.delta();

    state.departed(old.identity, 0);
    assertThat(clients(state.delta()).get("c1")).containsEntry("target", "d1");
  }

  @Test
  void aDepartureShowsTheClientGone() {
    register(device("d1"));
    Client galaxy = register(constellation("c1", "d1"));
    state.delta();
    router.disconnected(galaxy.conn, galaxy.identity);
    assertThat(clients(state.delta()).get("c1")).containsEntry("gone", true);
  }

  /**
   * An outcome held for an offline owner shows as held; once the owner is back and has been handed
   * it, the row must say so without a reload.
   */
  @Test
  void aHeldOutcomeStopsShowingHeldOnceItsOwnerIsBack() {
    register(device("d1"));
    Client galaxy = register(constellation("c1", "d1"));
    galaxy.send(task("c1", "d1", "s1"));
    state.delta();

    router.disconnected(galaxy.conn, galaxy.identity);
    assertThat(sessions(state.delta()).get("s1"))
        .containsEntry("state", "cancelled")
        .containsEntry("held_for_owner", true);

    register(constellation("c1", "d1"));
    assertThat(sessions(state.delta()).get("s1")).containsEntry("held_for_owner", false);
  }

  /**
   * A finished session id reused by another constellation is a second run: a row of its own (told
   * apart by {@code run}), never a change to the first run's row, which keeps its owner and state.
   */
  @Test
  @SuppressWarnings("unchecked")
  void twoRunsOfAReusedIdAreTwoRowsThatNeverMix() {
    Client device = register(device("d1"));
    Client first = register(constellation("c1", null));
    Client second = register(constellation("c2", null));
    first.send(task("c1", "d1", "s1"));
    device.send(taskEnd("d1", "s1"));
    state.delta();

    second.send(task("c2", "d1", "s1"));
    List<Object> changed = (List<Object>) state.delta().get("sessions");
    assertThat(changed).hasSize(1);
    Map<String, Object> row = (Map<String, Object>) changed.get(0);
    assertThat(row)
        .containsEntry("session_id", "s1")
        .containsEntry("state", "running")
        .containsEntry("owner", "c2")
        .containsEntry("result_preview", null);

    List<Object> rows = (List<Object>) state.snapshot().get("sessions");
    assertThat(rows)
        .extracting(r -> ((Map<String, Object>) r).get("owner"))
        .containsExactly("c2", "c1");
    assertThat(rows)
        .extracting(r -> ((Map<String, Object>) r).get("state"))
        .containsExactly("running", "completed");
    assertThat(rows).extracting(r -> ((Map<String, Object>) r).get("run")).doesNotHaveDuplicates();
    assertThat(row.get("run")).isEqualTo(((Map<String, Object>) rows.get(0)).get("run"));
  }

  // ------------------------------------------------------------------------------ helpers

  /** A registered client: its connection and the identity the router bound to it. */
  private final class Client {
    final FakeConnection conn;
    final Identity identity;

    Client(FakeConnection conn, Identity identity) {
      this.conn = conn;
      this.identity = identity;
    }

    void send(ClientMessage m) {
      router.handle(conn, identity, m, System.nanoTime());
    }
  }

  private Client register(ClientMessage m) {
    FakeConnection conn = new FakeConnection(m.clientId());
    Registration r = router.register(conn, m);
    assertThat(r)
        .as("registration of %s", m.clientId())
        .isInstanceOf(Registration.Registered.class);
    return new Client(conn, ((Registration.Registered) r).identity());
  }

  private static ClientMessage device(String id) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(id)
        .metadata(
            Map.of(
                "platform",
                "linux",
                "system_info",
                Map.of("tags", List.of("lab"), "supported_features", List.of("cli"))))
        .build();
  }

  private static ClientMessage constellation(String id, String target) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.CONSTELLATION)
        .clientId(id)
        .targetId(target)
        .build();
  }

  private static ClientMessage task(String from, String target, String sessionId) {
    return ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
        .clientType(ClientType.CONSTELLATION)
        .clientId(from)
        .targetId(target)
        .sessionId(sessionId)
        .taskName("galaxy/" + sessionId)
        .request("do " + sessionId)
        .build();
  }

  private static ClientMessage taskEnd(String from, String sessionId) {
    return ClientMessage.builder(ClientMessageType.TASK_END, TaskStatus.COMPLETED)
        .clientType(ClientType.DEVICE)
        .clientId(from)
        .sessionId(sessionId)
        .build();
  }

  private static ClientMessage heartbeat(String from, ClientType type) {
    return ClientMessage.builder(ClientMessageType.HEARTBEAT, TaskStatus.OK)
        .clientType(type)
        .clientId(from)
        .build();
  }

  /** A delta's session rows by id; empty when the delta is null. */
  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> sessions(Map<String, Object> delta) {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    if (delta != null) {
      for (Object s : (List<Object>) delta.get("sessions")) {
        Map<String, Object> row = (Map<String, Object>) s;
        out.put((String) row.get("session_id"), row);
      }
    }
    return out;
  }

  /** A delta's client rows by id; empty when the delta is null. */
  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> clients(Map<String, Object> delta) {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    if (delta != null) {
      for (Object c : (List<Object>) delta.get("clients")) {
        Map<String, Object> row = (Map<String, Object>) c;
        out.put((String) row.get("id"), row);
      }
    }
    return out;
  }
}
