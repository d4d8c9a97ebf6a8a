package org.aiphub.server.directory;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiphub.core.registry.ClientConnection;

/** {@link ClientDirectory#singleNode()}: every claim succeeds at once, nothing is elsewhere. */
final class SingleNodeDirectory implements ClientDirectory {
  static final SingleNodeDirectory INSTANCE = new SingleNodeDirectory();

  private static final CompletableFuture<Claim> CLAIMED =
      CompletableFuture.completedFuture(Claimed.INSTANCE);

  private SingleNodeDirectory() {}

  @Override
  public CompletionStage<Claim> claim(Claimant claimant) {
    return CLAIMED.minimalCompletionStage();
  }

  @Override
  public void release(String clientId, ClientConnection connection) {}

  @Override
  public Optional<Location> locate(String clientId) {
    return Optional.empty();
  }

  @Override
  public String toString() {
    return "single-node directory";
  }
}
