package org.aiphub.server.logging;

import org.aiphub.core.aip.ClientType;
import org.aiphub.core.session.Session;
import org.aiphub.server.netty.ConnectionEvents;
import org.aiphub.server.netty.RequestRefusal;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.RouterEvents;
import org.aiphub.server.route.Text;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per connect, registration, disconnect and finished session. Client-controlled
 * strings go through {@link Text#escape}, so no control character reaches the log; keys are never
 * logged. Finished sessions log under {@code org.aiphub.sessions}, which a busy hub can silence on
 * its own.
 */
public final class HubLog implements RouterEvents, ConnectionEvents {
  private static final Logger clients = LoggerFactory.getLogger("org.aiphub.clients");
  private static final Logger sessions = LoggerFactory.getLogger("org.aiphub.sessions");

  @Override
  public void connected(String remoteAddress) {
    clients.info("connect from {}", remoteAddress);
  }

  @Override
  public void registered(Identity identity, String remoteAddress) {
    if (identity.targetId() == null) {
      clients.info(
          "register {} {} from {}",
          identity.clientType().wire(),
          Text.escape(identity.clientId()),
          remoteAddress);
    } else {
      clients.info(
          "register {} {} (target {}) from {}",
          identity.clientType().wire(),
          Text.escape(identity.clientId()),
          Text.escape(identity.targetId()),
          remoteAddress);
    }
  }

  @Override
  public void registrationRefused(String outcome, String remoteAddress) {
    clients.info("registration refused ({}) from {}", outcome, remoteAddress);
  }

  @Override
  public void takenOver(String clientId, ClientType type) {
    clients.info("{} {} taken over by a newer connection", type.wire(), Text.escape(clientId));
  }

  @Override
  public void closed(String remoteAddress, String clientId) {
    if (clientId == null) {
      clients.info("disconnect from {} (never registered)", remoteAddress);
    }
  }

  @Override
  public void departed(Identity identity, int sessionsEnded) {
    clients.info(
        "disconnect {} {} ({} running sessions ended)",
        identity.clientType().wire(),
        Text.escape(identity.clientId()),
        sessionsEnded);
  }

  @Override
  public void sessionFinished(Session s) {
    if (sessions.isInfoEnabled()) {
      sessions.info(
          "session {} {} after {} ms (task {}, owner {}, device {}{})",
          Text.escape(s.id()),
          s.state().wire(),
          s.duration(s.endedAt()).toMillis(),
          Text.escape(s.taskName()),
          s.ownerId() == null ? "hub" : Text.escape(s.ownerId()),
          Text.escape(s.executorId()),
          s.error() == null ? "" : ", error " + Text.quote(s.error()));
    }
  }

  @Override
  public void connectionRefused(String reason) {
    clients.debug("socket refused: {}", reason);
  }

  @Override
  public void requestRefused(RequestRefusal reason) {
    clients.debug("request refused: {}", reason.label());
  }

  @Override
  public void slowConsumerClosed() {
    clients.warn("closed a slow consumer");
  }

  @Override
  public void idleClosed() {
    clients.info("closed an idle connection");
  }

  @Override
  public void registrationTimedOut() {
    clients.info("closed a connection that did not register in time");
  }

  @Override
  public void tooManyBadFrames() {
    clients.warn("closed a client for sending too many bad frames");
  }

  @Override
  public void heldOutcomeDropped(Session s, String reason) {
    sessions.warn(
        "dropped the held outcome of session {} (run {}, {}) for owner {}: {}",
        Text.escape(s.id()),
        s.run(),
        s.state().wire(),
        Text.escape(s.ownerId()),
        dropWhy(reason));
  }

  private static String dropWhy(String reason) {
    switch (reason) {
      case "age":
        return "older than held_age";
      case "owner_limit":
        return "the owner already had held_outcomes_per_owner or held_bytes_per_owner";
      case "hub_limit":
        return "the hub already held held_bytes";
      default:
        return reason;
    }
  }

  @Override
  public void limitExceeded(String limit) {
    clients.info("refused or closed a client over {}", limit);
  }
}
