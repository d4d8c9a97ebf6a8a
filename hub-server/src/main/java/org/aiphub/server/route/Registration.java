package org.aiphub.server.route;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.server.directory.ClientDirectory;

/** What became of a {@code register} frame ({@link TaskRouter#register}). */
public sealed interface Registration
    permits Registration.Registered,
        Registration.Refused,
        Registration.Contested,
        Registration.Pending {

  /**
   * The client is registered; the reply went out.
   *
   * @param identity the identity now bound to the connection
   */
  record Registered(Identity identity) implements Registration {}

  /**
   * The registration failed; the error frame went out and the caller closes the connection.
   *
   * @param reason the error text sent to the client
   * @param outcome a short label for metrics, e.g. {@code duplicate}
   */
  record Refused(String reason, String outcome) implements Registration {}

  /**
   * The id is held by a live entry under the reject policy, and the caller asked to check first
   * whether that holder is really alive: nothing was sent yet. Probe {@code holder}, then call
   * {@link TaskRouter#refuseDuplicate} (it answered) or {@link TaskRouter#replaceDead} and register
   * again (it did not).
   *
   * @param holder the entry holding the id
   * @param reason the refusal text, should the holder prove alive
   */
  record Contested(ClientInfo holder, String reason) implements Registration {}

  /**
   * The registration passed the router's checks and waits for the {@link ClientDirectory}'s answer
   * to its claim: nothing was sent and nothing registered yet. Once {@link #settled()} completes
   * (on any thread), call {@link TaskRouter#resume} on the connection's own thread for the final
   * result (which may itself be {@link Contested}); or, when the connection went away meanwhile,
   * {@link TaskRouter#abandon}. Frames the client sends meanwhile wait, and are answered in order
   * after the reply.
   */
  final class Pending implements Registration {
    private final Registrar.Prepared prepared;
    private final CompletableFuture<Void> settled = new CompletableFuture<>();
    private volatile Object outcome;

    Pending(Registrar.Prepared prepared, CompletionStage<ClientDirectory.Claim> claim) {
      this.prepared = prepared;
      claim.whenComplete(
          (c, e) -> {
            outcome = outcomeOf(c, e);
            settled.complete(null);
          });
    }

    /** What a claim came to: the claim, or the failure (a missing claim counts as one). */
    static Object outcomeOf(ClientDirectory.Claim claim, Throwable failure) {
      if (failure != null) {
        return failure;
      }
      return claim != null ? claim : new IllegalStateException("the directory answered no claim");
    }

    /** The id being claimed. */
    public String clientId() {
      return prepared.clientId();
    }

    /** Completes, on any thread, once the directory answered (or failed to). */
    public CompletionStage<Void> settled() {
      return settled.minimalCompletionStage();
    }

    Registrar.Prepared prepared() {
      return prepared;
    }

    /** The directory's {@link ClientDirectory.Claim}, or the {@link Throwable} it failed with. */
    Object outcome() {
      return outcome;
    }

    @Override
    public String toString() {
      return "Pending[" + prepared.clientId() + "]";
    }
  }
}
