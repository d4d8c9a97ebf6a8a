package org.aiphub.server.route;

import java.util.Optional;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.Departure;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.directory.ClientDirectory;

/**
 * Sessions ended from outside their device's {@code task_end}: a client's departure (a device's
 * sessions fail with {@value TaskRouter#DEVICE_DISCONNECTED}, a constellation's are cancelled with
 * {@value TaskRouter#CONSTELLATION_DISCONNECTED}), a cancellation, and a shutdown's failure of
 * every running session. The device of a cancelled or failed session is told to stop; the owner
 * gets the outcome ({@link Outcomes}). A departed client's id is released in the {@link
 * ClientDirectory}.
 */
final class Departures {
  private final ClientRegistry registry;
  private final SessionTable sessions;
  private final Messages messages;
  private final RouterEvents events;
  private final Outcomes outcomes;
  private final ClientDirectory directory;

  Departures(
      ClientRegistry registry,
      SessionTable sessions,
      Messages messages,
      RouterEvents events,
      Outcomes outcomes,
      ClientDirectory directory) {
    this.registry = registry;
    this.sessions = sessions;
    this.messages = messages;
    this.events = events;
    this.outcomes = outcomes;
    this.directory = directory;
  }

  /** See {@link TaskRouter#disconnected}. */
  void disconnected(ClientConnection conn, Identity id) {
    Optional<Departure> departure = registry.removeClient(id.clientId(), conn);
    if (departure.isEmpty()) {
      return;
    }
    directory.release(id.clientId(), conn);
    int ended = 0;
    for (String sessionId : departure.get().sessions()) {
      Optional<Session> running = sessions.running(sessionId);
      if (running.isEmpty()) {
        continue;
      }
      if (id.isDevice()) {
        Optional<Session> failed =
            sessions.finish(
                running.get(), SessionState.FAILED, null, TaskRouter.DEVICE_DISCONNECTED);
        if (failed.isPresent()) {
          outcomes.finished(failed.get());
          ended++;
        }
      } else {
        if (cancel(running.get(), TaskRouter.CONSTELLATION_DISCONNECTED).isPresent()) {
          ended++;
        }
      }
    }
    events.departed(id, ended);
  }

  /** See {@link TaskRouter#cancel}. */
  Optional<Session> cancel(Session running, String reason) {
    Optional<Session> cancelled = sessions.finish(running, SessionState.CANCELLED, null, reason);
    cancelled.ifPresent(
        c -> {
          stopDevice(c, reason);
          outcomes.finished(c);
        });
    return cancelled;
  }

  /** See {@link TaskRouter#failAll}. */
  int failAll(String reason) {
    int n = 0;
    for (Session running : sessions.list(Session::isRunning, Integer.MAX_VALUE)) {
      Optional<Session> failed = sessions.finish(running, SessionState.FAILED, null, reason);
      if (failed.isPresent()) {
        stopDevice(failed.get(), reason);
        outcomes.finished(failed.get());
        n++;
      }
    }
    return n;
  }

  private void stopDevice(Session ended, String reason) {
    registry
        .getClientInfo(ended.executorId())
        .filter(ClientInfo::isDevice)
        .ifPresent(d -> d.connection().send(messages.cancelForDevice(ended.id(), reason)));
  }
}
