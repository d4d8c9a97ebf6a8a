package org.aiphub.server;

import java.util.List;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.session.Session;
import org.aiphub.server.netty.ConnectionEvents;
import org.aiphub.server.netty.RequestRefusal;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;

/** Passes every router and transport event to each listener, in order. */
final class EventFanout implements RouterEvents, ConnectionEvents {
  private final RouterEvents[] router;
  private final ConnectionEvents[] transport;

  EventFanout(List<RouterEvents> router, List<ConnectionEvents> transport) {
    // Copied into arrays: listeners are called per frame, and arrays iterate without allocation.
    this.router = router.toArray(new RouterEvents[0]);
    this.transport = transport.toArray(new ConnectionEvents[0]);
  }

  @Override
  public void registered(Identity identity, String remoteAddress) {
    for (RouterEvents e : router) {
      e.registered(identity, remoteAddress);
    }
  }

  @Override
  public void heartbeat(Identity identity) {
    for (RouterEvents e : router) {
      e.heartbeat(identity);
    }
  }

  @Override
  public void registrationRefused(String outcome, String remoteAddress) {
    for (RouterEvents e : router) {
      e.registrationRefused(outcome, remoteAddress);
    }
  }

  @Override
  public void departed(Identity identity, int sessionsEnded) {
    for (RouterEvents e : router) {
      e.departed(identity, sessionsEnded);
    }
  }

  @Override
  public void takenOver(String clientId, ClientType type) {
    for (RouterEvents e : router) {
      e.takenOver(clientId, type);
    }
  }

  @Override
  public void refused(Identity identity, String reason) {
    for (RouterEvents e : router) {
      e.refused(identity, reason);
    }
  }

  @Override
  public void sessionStarted(Session session, long receivedNanos) {
    for (RouterEvents e : router) {
      e.sessionStarted(session, receivedNanos);
    }
  }

  @Override
  public void taskDispatched(Session session, long receivedNanos) {
    for (RouterEvents e : router) {
      e.taskDispatched(session, receivedNanos);
    }
  }

  @Override
  public void taskEndReceived(Session session, long receivedNanos) {
    for (RouterEvents e : router) {
      e.taskEndReceived(session, receivedNanos);
    }
  }

  @Override
  public void deviceInfoUpdated(String deviceId, java.util.Map<String, Object> reported) {
    for (RouterEvents e : router) {
      e.deviceInfoUpdated(deviceId, reported);
    }
  }

  @Override
  public void sessionFinished(Session session) {
    for (RouterEvents e : router) {
      e.sessionFinished(session);
    }
  }

  @Override
  public void heldChanged(Session session) {
    for (RouterEvents e : router) {
      e.heldChanged(session);
    }
  }

  @Override
  public void heldOutcomeDropped(Session session, String reason) {
    for (RouterEvents e : router) {
      e.heldOutcomeDropped(session, reason);
    }
  }

  @Override
  public void connected(String remoteAddress) {
    for (ConnectionEvents e : transport) {
      e.connected(remoteAddress);
    }
  }

  @Override
  public void closed(String remoteAddress, String clientId) {
    for (ConnectionEvents e : transport) {
      e.closed(remoteAddress, clientId);
    }
  }

  @Override
  public void connectionRefused(String reason) {
    for (ConnectionEvents e : transport) {
      e.connectionRefused(reason);
    }
  }

  @Override
  public void requestRefused(RequestRefusal reason) {
    for (ConnectionEvents e : transport) {
      e.requestRefused(reason);
    }
  }

  @Override
  public void messageOut(ServerMessageType type) {
    for (ConnectionEvents e : transport) {
      e.messageOut(type);
    }
  }

  @Override
  public void messageIn(ClientMessageType type) {
    for (ConnectionEvents e : transport) {
      e.messageIn(type);
    }
  }

  @Override
  public void frameRejected(String reason) {
    for (ConnectionEvents e : transport) {
      e.frameRejected(reason);
    }
  }

  @Override
  public void registrationTimedOut() {
    for (ConnectionEvents e : transport) {
      e.registrationTimedOut();
    }
  }

  @Override
  public void registrationRefused(String outcome) {
    for (ConnectionEvents e : transport) {
      e.registrationRefused(outcome);
    }
  }

  @Override
  public void tooManyBadFrames() {
    for (ConnectionEvents e : transport) {
      e.tooManyBadFrames();
    }
  }

  @Override
  public void slowConsumerClosed() {
    for (ConnectionEvents e : transport) {
      e.slowConsumerClosed();
    }
  }

  @Override
  public void idleClosed() {
    for (ConnectionEvents e : transport) {
      e.idleClosed();
    }
  }

  // One method for RouterEvents and ConnectionEvents alike: the listeners that count and log limit
  // hits (metrics, log) are transport listeners too, so this reaches each of them once.
  @Override
  public void limitExceeded(String limit) {
    for (ConnectionEvents e : transport) {
      e.limitExceeded(limit);
    }
  }
}
