package org.aiphub.server.route;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
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
import org.aiphub.server.route.Registration.Contested;
import org.aiphub.server.route.Registration.Refused;
import org.aiphub.server.security.ClientTokens;

/**
 * The {@code register} verb: the first frame of a connection. Checks the id, the per-client
 * credential, the declared target and the metadata, enters the client in the registry (refusing a
 * duplicate or a look-alike id), and answers: the registration reply first, then, for a
 * constellation, the outcomes held for it while it was away.
 */
final class Registrar {
  private final ClientRegistry registry;
  private final Messages messages;
  private final RouterEvents events;
  private final ClientIds ids;
  private final Outcomes outcomes;
  private final Departures departures;
  private final BooleanSupplier shuttingDown;

  Registrar(
      ClientRegistry registry,
      Messages messages,
      RouterEvents events,
      ClientIds ids,
      Outcomes outcomes,
      Departures departures,
      BooleanSupplier shuttingDown) {
    this.registry = registry;
    this.messages = messages;
    this.events = events;
    this.ids = ids;
    this.outcomes = outcomes;
    this.departures = departures;
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
      if (target != null && !registry.isDeviceConnected(target)) {
        return refuse(
            conn, "target device " + Text.quote(target) + " is not connected", "bad_target");
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
    Optional<ClientInfo> displaced;
    try {
      displaced = registry.addClient(clientId, platform, conn, m.clientType(), metadata);
    } catch (LookAlikeClientException e) {
      return refuse(conn, ids.lookAlikeReason(e), "look_alike_id");
    } catch (ClientInfoLimitException e) {
      events.limitExceeded(e.limit());
      return refuse(conn, e.getMessage(), e.limit());
    } catch (DuplicateClientException e) {
      Optional<ClientInfo> holder = registry.getClientInfo(clientId);
      if (probeDuplicates
          && holder.isPresent()
          && holder.get().clientType() == m.clientType()
          && registry.policy() == DuplicatePolicy.REJECT) {
        return new Contested(holder.get(), e.getMessage());
      }
      return refuse(conn, e.getMessage(), "duplicate");
    }
    Identity identity = new Identity(clientId, m.clientType(), target);
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
}
