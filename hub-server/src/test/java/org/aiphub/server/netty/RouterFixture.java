package org.aiphub.server.netty;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.directory.ClientDirectory;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.TaskRouter;

/** A real router over a real registry and session table, recording departures. */
final class RouterFixture implements RouterEvents {
  final ClientRegistry registry;
  final SessionTable sessions;
  final TaskRouter router;
  private final List<String> departures = new ArrayList<>();

  RouterFixture() {
    this(DuplicatePolicy.REJECT);
  }

  RouterFixture(DuplicatePolicy policy) {
    this(policy, ClientDirectory.singleNode());
  }

  RouterFixture(DuplicatePolicy policy, ClientDirectory directory) {
    Clock clock = Clock.systemUTC();
    registry = ClientRegistry.builder().policy(policy).clock(clock).build();
    sessions = new SessionTable(100, Duration.ofHours(1), clock);
    router = new TaskRouter(registry, sessions, clock, this, directory);
  }

  @Override
  public synchronized void departed(Identity identity, int sessionsEnded) {
    departures.add(identity.clientId());
  }

  synchronized List<String> departures() {
    return new ArrayList<>(departures);
  }
}
