package org.aiphub.server.route;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.session.Session;

/** Records every router event as a short line, e.g. {@code refused c1 bad_task}. */
final class RecordingRouterEvents implements RouterEvents {
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final List<Session> finished = new CopyOnWriteArrayList<>();

  @Override
  public void registered(Identity identity, String remoteAddress) {
    lines.add("registered " + identity.clientId() + " " + identity.clientType().wire());
  }

  @Override
  public void registrationRefused(String outcome, String remoteAddress) {
    lines.add("registrationRefused " + outcome);
  }

  @Override
  public void departed(Identity identity, int sessionsEnded) {
    lines.add("departed " + identity.clientId() + " " + sessionsEnded);
  }

  @Override
  public void takenOver(String clientId, ClientType type) {
    lines.add("takenOver " + clientId + " " + type.wire());
  }

  @Override
  public void refused(Identity identity, String reason) {
    lines.add("refused " + identity.clientId() + " " + reason);
  }

  @Override
  public void sessionStarted(Session session, long receivedNanos) {
    lines.add("sessionStarted " + session.id());
  }

  @Override
  public void sessionFinished(Session session) {
    lines.add("sessionFinished " + session.id() + " " + session.state().wire());
    finished.add(session);
  }

  List<String> lines() {
    return new ArrayList<>(lines);
  }

  List<Session> finished() {
    return new ArrayList<>(finished);
  }

  void clear() {
    lines.clear();
    finished.clear();
  }
}
