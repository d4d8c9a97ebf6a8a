package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Every frame the stand-in received or sent, per socket, in the order the server saw them; for
 * tests that compare what went through a gateway with what the agent server got and answered.
 * Thread-safe; waits block the caller, never the server.
 */
public final class FrameRecorder {
  /** Which way a frame went, seen from the agent server. */
  public enum Direction {
    /** From the client to the agent server. */
    IN,
    /** From the agent server to the client. */
    OUT,
    /** The socket closed ({@code text} is {@code code reason}, or {@code abort}). */
    CLOSED
  }

  /**
   * One recorded event.
   *
   * @param connection the socket's number on this server, from 1
   * @param clientId the id registered on that socket, or {@code null} before registration (and for
   *     a socket whose registration failed)
   * @param direction which way
   * @param text the frame's text exactly as on the wire (a binary frame as UTF-8)
   * @param binary whether it was a binary frame
   * @param nanos {@link System#nanoTime()} when the server handled it
   */
  public record Frame(
      int connection,
      String clientId,
      Direction direction,
      String text,
      boolean binary,
      long nanos) {
    /** The frame parsed as JSON ({@code null} when it is not JSON). */
    public JsonNode json() {
      try {
        return ReferenceFrames.JSON.readTree(text);
      } catch (JsonProcessingException e) {
        return null;
      }
    }

    /** The frame's {@code type}, or {@code null}. */
    public String type() {
      JsonNode j = json();
      return j == null || !j.isObject() ? null : j.path("type").asText(null);
    }
  }

  private final List<Frame> frames = new ArrayList<>();

  synchronized void add(Frame f) {
    frames.add(f);
    notifyAll();
  }

  /** Everything so far. */
  public synchronized List<Frame> all() {
    return List.copyOf(frames);
  }

  /** Every frame on sockets registered as {@code clientId}, both ways. */
  public List<Frame> of(String clientId) {
    return matching(f -> clientId.equals(f.clientId()));
  }

  /** Frames the server sent to sockets registered as {@code clientId}. */
  public List<Frame> sentTo(String clientId) {
    return matching(f -> clientId.equals(f.clientId()) && f.direction() == Direction.OUT);
  }

  /** Frames the server received from sockets registered as {@code clientId}. */
  public List<Frame> receivedFrom(String clientId) {
    return matching(f -> clientId.equals(f.clientId()) && f.direction() == Direction.IN);
  }

  /** Frames matching {@code p}, in order. */
  public synchronized List<Frame> matching(Predicate<Frame> p) {
    return frames.stream().filter(p).toList();
  }

  /** Waits until a frame matches {@code p} and returns the first that does. */
  public synchronized Frame await(Predicate<Frame> p, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      for (Frame f : frames) {
        if (p.test(f)) {
          return f;
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no recorded frame matched within " + within + "; have " + frames);
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** Forgets everything recorded so far. */
  public synchronized void clear() {
    frames.clear();
  }
}
