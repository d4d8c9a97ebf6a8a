package org.aiphub.server.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.server.directory.ClientDirectory;

/**
 * A {@link ClientDirectory} the test answers by hand: every claim waits until the test completes it
 * ({@link #claimed}, {@link #heldElsewhere}, {@link #fail}), releases are recorded, and {@link
 * #locate} answers from {@link #place}.
 */
public final class ManualDirectory implements ClientDirectory {
  /** A claim the test has not answered yet. */
  public record Open(Claimant claimant, CompletableFuture<Claim> answer) {}

  /** A recorded {@link #release}. */
  public record Release(String clientId, ClientConnection connection) {}

  private final List<Open> open = new CopyOnWriteArrayList<>();
  private final List<Release> releases = new CopyOnWriteArrayList<>();
  private final Map<String, Location> places = new ConcurrentHashMap<>();

  @Override
  public CompletionStage<Claim> claim(Claimant claimant) {
    CompletableFuture<Claim> answer = new CompletableFuture<>();
    open.add(new Open(claimant, answer));
    return answer;
  }

  @Override
  public void release(String clientId, ClientConnection connection) {
    releases.add(new Release(clientId, connection));
  }

  @Override
  public Optional<Location> locate(String clientId) {
    return Optional.ofNullable(places.get(clientId));
  }

  /** Makes {@link #locate} find {@code clientId} at {@code where}. */
  public void place(String clientId, Location where) {
    places.put(clientId, where);
  }

  /** The claims not answered yet, oldest first. */
  public List<Open> open() {
    return new ArrayList<>(open);
  }

  /** Answers the oldest open claim of {@code clientId} with {@link Claimed}. */
  public void claimed(String clientId) {
    take(clientId).answer().complete(Claimed.INSTANCE);
  }

  /** Answers the oldest open claim of {@code clientId}: another node holds it. */
  public void heldElsewhere(String clientId, HeldElsewhere held) {
    take(clientId).answer().complete(held);
  }

  /** Answers the oldest open claim of {@code clientId} with nothing (a broken directory). */
  public void answerNull(String clientId) {
    take(clientId).answer().complete(null);
  }

  /** Fails the oldest open claim of {@code clientId}, as an unreachable store would. */
  public void fail(String clientId) {
    take(clientId).answer().completeExceptionally(new IllegalStateException("store unreachable"));
  }

  /** Every release so far. */
  public List<Release> releases() {
    return new ArrayList<>(releases);
  }

  private Open take(String clientId) {
    for (Open o : open) {
      if (o.claimant().clientId().equals(clientId)) {
        open.remove(o);
        return o;
      }
    }
    throw new AssertionError("no open claim for " + clientId + "; open: " + open);
  }
}
