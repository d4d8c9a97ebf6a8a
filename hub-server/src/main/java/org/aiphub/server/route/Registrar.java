package org.aiphub.server.route;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceEntry;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientInfoLimitException;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.registry.DuplicateClientException;
import org.aiphub.core.registry.DuplicatePolicy;
import org.aiphub.core.registry.LookAlikeClientException;
import org.aiphub.server.directory.ClientDirectory;
import org.aiphub.server.route.Registration.Contested;
import org.aiphub.server.route.Registration.Refused;
import org.aiphub.server.security.ClientTokens;

/**
 * The {@code register} verb: the first frame of a connection. Checks the id, the per-client
 * credential, the declared target and the metadata; claims the id in the {@link ClientDirectory}
 * (at once on a single node; a cluster's claim may answer later, see {@link Registration.Pending});
 * then enters the client in the registry (refusing a duplicate or a look-alike id) and answers: the
 * registration reply first, then, for a constellation, the outcomes held for it while it was away.
 * A claim whose registration is refused after all is released.
 */
final class Registrar {
  private final ClientRegistry registry;
  private final Messages messages;
  private final RouterEvents events;
  private final ClientIds ids;
  private final Outcomes outcomes;
  private final Departures departures;
  private final BooleanSupplier shuttingDown;
  private final ClientDirectory directory;
  private final Targets targets;

  Registrar(
      ClientRegistry registry,
      Messages messages,
      RouterEvents events,
      ClientIds ids,
      Outcomes outcomes,
      Departures departures,
      ClientDirectory directory,
      Targets targets,
      BooleanSupplier shuttingDown) {
    this.registry = registry;
    this.messages = messages;
    this.events = events;
    this.ids = ids;
    this.outcomes = outcomes;
    this.departures = departures;
    this.directory = directory;
    this.targets = targets;
    this.shuttingDown = shuttingDown;
  }

  /** See {@link TaskRouter#register(ClientConnection, ClientMessage, boolean)}. */
  Registration register(ClientConnection conn, ClientMessage frame, boolean probeDuplicates) {
    ClientMessage m = ids.canonical(frame);
    if (shuttingDown.getAsBoolean()) {
      return refuse(conn, "the hub is shutting down", "shutting_down");
    }
    if (m.type() != ClientMessageType.REGISTER) {
      return refuse(
          conn,
          "the first message must be a register message, got '" + m.type().wire() + "'",
          "not_register");
    }
    String idProblem = ids.problem("client_id", m.clientId());
    if (idProblem != null) {
      return refuse(conn, idProblem, "bad_client_id");
    }
    String clientId = m.clientId();
    Map<String, Object> metadata = m.metadata();
    DeviceEntry entry = registry.deviceConfig().entry(clientId);
    if (entry != null && entry.tokenSha256() != null) {
      Object token = metadata == null ? null : metadata.get(ClientTokens.METADATA_FIELD);
      if (!(token instanceof String)
          || !ClientTokens.matches((String) token, entry.tokenSha256())) {
        return refuse(
            conn,
            "client_id "
                + Text.quote(clientId)
                + " requires its own credential: metadata."
                + ClientTokens.METADATA_FIELD
                + " is missing or wrong",
            "bad_credentials");
      }
    }
    if (metadata != null && metadata.containsKey(ClientTokens.METADATA_FIELD)) {
      // The credential did its job; it must not be stored, logged or shown anywhere.
      Map<String, Object> withoutToken = new LinkedHashMap<>(metadata);
      withoutToken.remove(ClientTokens.METADATA_FIELD);
      metadata = withoutToken;
    }
    String target = null;
    String platform = null;
    if (m.clientType() == ClientType.CONSTELLATION) {
      target = m.targetId();
      String targetProblem = target == null ? null : ids.problem("target_id", target);
      if (targetProblem != null) {
        return refuse(conn, targetProblem, "bad_target");
      }
      Targets.Miss miss = target == null ? null : targets.device(target);
      if (miss != null) {
        return refuse(conn, miss.reason(), "bad_target");
      }
    } else {
      Object p = metadata == null ? null : metadata.get("platform");
      if (p != null && !(p instanceof String)) {
        return refuse(conn, "metadata.platform must be a string", "bad_metadata");
      }
      Object si = metadata == null ? null : metadata.get("system_info");
      if (si != null && !(si instanceof Map)) {
        return refuse(conn, "metadata.system_info must be an object", "bad_metadata");
      }
      platform = (String) p;
    }
    Prepared prepared =
        new Prepared(clientId, m.clientType(), target, platform, metadata, probeDuplicates);
    CompletionStage<ClientDirectory.Claim> claim;
    try {
      claim = directory.claim(new ClientDirectory.Claimant(clientId, m.clientType(), conn));
    } catch (RuntimeException e) {
      return settle(conn, prepared, e);
    }
    // Answered at once (always, on a single node): go on now, on this thread.
    AtomicReference<Object> now = new AtomicReference<>();
    claim.whenComplete((c, e) -> now.set(Registration.Pending.outcomeOf(c, e)));
    if (now.get() != null) {
      return settle(conn, prepared, now.get());
    }
    return new Registration.Pending(prepared, claim);
  }

  /** See {@link TaskRouter#resume}. */
  Registration resume(ClientConnection conn, Registration.Pending pending) {
    Object outcome = pending.outcome();
    if (outcome == null) {
      throw new IllegalStateException("the claim of " + pending + " is still open");
    }
    return settle(conn, pending.prepared(), outcome);
  }

  /** See {@link TaskRouter#abandon}. */
  void abandon(ClientConnection conn, Registration.Pending pending) {
    pending
        .settled()
        .whenComplete(
            (v, e) -> {
              if (pending.outcome() instanceof ClientDirectory.Claimed) {
                directory.release(pending.clientId(), conn);
              }
            });
  }

  /** The registration once the directory answered its claim. */
  private Registration settle(ClientConnection conn, Prepared p, Object claim) {
    if (claim instanceof ClientDirectory.HeldElsewhere) {
      ClientDirectory.HeldElsewhere held = (ClientDirectory.HeldElsewhere) claim;
      return refuse(
          conn,
          "client_id "
              + Text.quote(p.clientId())
              + " is already registered on hub node "
              + Text.quote(held.node())
              + "; duplicate registrations are not allowed",
          "duplicate");
    }
    if (!(claim instanceof ClientDirectory.Claimed)) {
      return refuse(
          conn,
          "client_id "
              + Text.quote(p.clientId())
              + " cannot be registered now: the hub's client directory did not answer",
          "directory_unavailable");
    }
    Registration r = enter(conn, p);
    if (!(r instanceof Registration.Registered)) {
      directory.release(p.clientId(), conn);
    }
    return r;
  }

  /** Enters a claimed client in the registry and answers it. */
  private Registration enter(ClientConnection conn, Prepared p) {
    if (shuttingDown.getAsBoolean()) {
      return refuse(conn, "the hub is shutting down", "shutting_down");
    }
    String clientId = p.clientId();
    Optional<ClientInfo> displaced;
    try {
      displaced = registry.addClient(clientId, p.platform(), conn, p.clientType(), p.metadata());
    } catch (LookAlikeClientException e) {
      return refuse(conn, ids.lookAlikeReason(e), "look_alike_id");
    } catch (ClientInfoLimitException e) {
      events.limitExceeded(e.limit());
      return refuse(conn, e.getMessage(), e.limit());
    } catch (DuplicateClientException e) {
      Optional<ClientInfo> holder = registry.getClientInfo(clientId);
      if (p.probeDuplicates()
          && holder.isPresent()
          && holder.get().clientType() == p.clientType()
          && registry.policy() == DuplicatePolicy.REJECT) {
        return new Contested(holder.get(), e.getMessage());
      }
      return refuse(conn, e.getMessage(), "duplicate");
    }
    Identity identity = new Identity(clientId, p.clientType(), p.target());
    conn.send(messages.heartbeatOk());
    displaced.ifPresent(
        old -> {
          old.connection().close(TaskRouter.CLOSE_TAKEN_OVER, "replaced by a newer connection");
          events.takenOver(clientId, old.clientType());
        });
    events.registered(identity, conn.remoteAddress());
    if (identity.clientType() == ClientType.CONSTELLATION) {
      outcomes.drainHeld(clientId, conn);
    }
    return new Registration.Registered(identity);
  }

  /** See {@link TaskRouter#refuseDuplicate}. */
  Refused refuseDuplicate(ClientConnection conn, Contested contested) {
    return refuse(conn, contested.reason(), "duplicate");
  }

  /** See {@link TaskRouter#replaceDead}. */
  void replaceDead(Contested contested) {
    ClientInfo dead = contested.holder();
    departures.disconnected(
        dead.connection(), new Identity(dead.clientId(), dead.clientType(), null));
    dead.connection().close(TaskRouter.CLOSE_REPLACED_SILENT, "replaced: did not answer a ping");
    events.takenOver(dead.clientId(), dead.clientType());
  }

  private Refused refuse(ClientConnection conn, String reason, String outcome) {
    conn.send(messages.error(reason));
    events.registrationRefused(outcome, conn.remoteAddress());
    return new Refused(reason, outcome);
  }

  /** A registration that passed the router's checks, waiting for its claim. */
  record Prepared(
      String clientId,
      ClientType clientType,
      String target,
      String platform,
      Map<String, Object> metadata,
      boolean probeDuplicates) {}
}
