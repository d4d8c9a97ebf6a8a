package org.aiphub.server.netty;

import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.aip.ClientMessageType;

/** Records every connection event as a short line, e.g. {@code frameRejected malformed_json}. */
final class RecordingConnectionEvents implements ConnectionEvents {
  private final List<String> lines = new ArrayList<>();

  @Override
  public void messageIn(ClientMessageType type) {
    lines.add("messageIn " + type.wire());
  }

  @Override
  public void frameRejected(String reason) {
    lines.add("frameRejected " + reason);
  }

  @Override
  public void registrationTimedOut() {
    lines.add("registrationTimedOut");
  }

  @Override
  public void registrationRefused(String outcome) {
    lines.add("registrationRefused " + outcome);
  }

  @Override
  public void tooManyBadFrames() {
    lines.add("tooManyBadFrames");
  }

  @Override
  public void slowConsumerClosed() {
    lines.add("slowConsumerClosed");
  }

  @Override
  public void idleClosed() {
    lines.add("idleClosed");
  }

  @Override
  public void limitExceeded(String limit) {
    lines.add("limitExceeded " + limit);
  }

  List<String> lines() {
    return new ArrayList<>(lines);
  }
}
