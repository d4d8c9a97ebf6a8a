package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The reference's task side: {@code handle_task_request}, {@code handle_command_result}, the {@code
 * SessionManager} (sessions, owners, result senders, running tasks, cancellation) and the {@code
 * send_result} callback. Runs on the server's event loop only.
 */
final class AgentSessions {
  static final Set<String> PLATFORMS = Set.of("windows", "linux", "mobile");

  private final ReferenceAgentServer server;
  private final Map<String, AgentSession> sessions = new HashMap<>();
  private final Map<String, String> owners = new HashMap<>();
  private final Map<String, String> resultSenders = new HashMap<>();
  private final Map<String, AgentSession.Run> running = new HashMap<>();

  /** The connection manager's session lists; like the reference's, never pruned on completion. */
  private final Map<String, List<String>> constellationSessions = new HashMap<>();

  private final Map<String, List<String>> deviceSessions = new HashMap<>();
  private volatile Function<String, AgentScript> agent = AgentScript::fromRequest;

  AgentSessions(ReferenceAgentServer server) {
    this.server = server;
  }

  EventLoop loop() {
    return server.loop();
  }

  void agent(Function<String, AgentScript> scriptForRequest) {
    this.agent = scriptForRequest;
  }

  List<String> runningSessionIds() {
    return List.copyOf(running.keySet());
  }

  /** {@code handle_task_request}, with the sender's registered identity already pinned. */
  void task(AgentConnection from, ClientFrame f) {
    boolean constellation = from.clientType().equals("constellation");
    String clientId = from.clientId();
    String target = null;
    String platform;
    if (constellation) {
      target = f.targetId();
      if (target == null || target.isEmpty()) {
        from.sendError("Constellation task requests require target_id");
        return;
      }
      AgentConnection t = server.client(target);
      if (t == null) {
        from.sendError("Target device " + ReferenceFrames.pyRepr(target) + " is not connected");
        return;
      }
      if (!t.clientType().equals("device")) {
        from.sendError("Constellation tasks may only target device clients");
        return;
      }
      platform = t.platform();
    } else {
      if (f.targetId() != null && !f.targetId().isEmpty() && !f.targetId().equals(clientId)) {
        from.sendError("Device clients may not target other devices");
        return;
      }
      platform = from.platform();
    }
    String sessionId =
        f.sessionId() == null || f.sessionId().isEmpty() ? ReferenceFrames.uuid() : f.sessionId();
    String rawName =
        f.taskName() == null || f.taskName().isEmpty() ? ReferenceFrames.uuid() : f.taskName();
    String taskName = ReferenceFrames.sanitizeTaskName(rawName);
    if (constellation) {
      constellationSessions.computeIfAbsent(clientId, k -> new ArrayList<>()).add(sessionId);
      deviceSessions.computeIfAbsent(target, k -> new ArrayList<>()).add(sessionId);
    }
    String executor = constellation ? target : clientId;
    AgentSession session = sessions.get(sessionId);
    if (session != null) {
      String recorded = owners.get(sessionId);
      if (recorded == null || !recorded.equals(clientId)) {
        // The reference's rollback drops the sender's whole session list and the target's.
        if (constellation) {
          constellationSessions.remove(clientId);
          deviceSessions.remove(target);
        }
        from.sendError(
            "session_id " + ReferenceFrames.pyRepr(sessionId) + " is owned by another client");
        return;
      }
    } else {
      if (!PLATFORMS.contains(platform)) {
        from.sendError("Service session not supported on " + platform);
        return;
      }
      AgentScript script;
      try {
        script = agent.apply(f.request());
      } catch (RuntimeException e) {
        from.sendError(String.valueOf(e.getMessage()));
        return;
      }
      session =
          new AgentSession(
              this,
              sessionId,
              clientId,
              executor,
              constellation,
              taskName,
              f.request() == null ? "" : f.request(),
              script,
              server.client(executor));
      sessions.put(sessionId, session);
      owners.put(sessionId, clientId);
    }
    resultSenders.put(sessionId, executor);
    from.send(ReferenceFrames.heartbeatOk(sessionId));
    running.put(sessionId, session.start());
  }

  /** {@code handle_command_result}: only the executor's results for a live session count. */
  void commandResults(AgentConnection from, ClientFrame f) {
    AgentSession session = f.sessionId() == null ? null : sessions.get(f.sessionId());
    if (session == null) {
      return;
    }
    String sender = resultSenders.get(f.sessionId());
    if (sender == null || !sender.equals(from.clientId())) {
      return;
    }
    session.setResult(f.prevResponseId(), f.actionResults());
  }

  /** The reference's {@code disconnect}: cancel what the leaving client owns or executes. */
  void disconnected(AgentConnection c) {
    Map<String, List<String>> lists =
        c.clientType().equals("constellation") ? constellationSessions : deviceSessions;
    String reason =
        c.clientType().equals("constellation")
            ? "constellation_disconnected"
            : "device_disconnected";
    List<String> ids = lists.getOrDefault(c.clientId(), List.of());
    for (String id : List.copyOf(ids)) {
      cancel(id, reason);
    }
    if (!ids.isEmpty()) {
      lists.remove(c.clientId());
    }
  }

  private void cancel(String sessionId, String reason) {
    AgentSession.Run run = running.get(sessionId);
    if (run == null || run.done()) {
      return;
    }
    run.cancel();
    AgentSession session = sessions.get(sessionId);
    if (reason.equals("device_disconnected") && session != null) {
      ended(
          session,
          "failed",
          "Task was cancelled because target device disconnected",
          session.results());
    } else {
      running.remove(sessionId);
      remove(sessionId);
    }
  }

  /**
   * The end of a run: {@code send_result} (owner first, then a constellation's device), cleanup.
   */
  void ended(AgentSession s, String status, String error, JsonNode result) {
    ObjectNode end = ReferenceFrames.server("task_end", status);
    end.put("error", error);
    end.put("session_id", s.id);
    end.put("response_id", ReferenceFrames.uuid());
    end.set("result", result.deepCopy());
    AgentConnection owner = server.client(s.owner);
    if (owner != null) {
      owner.send(end);
      AgentConnection device = s.ownerIsConstellation ? server.client(s.executor) : null;
      if (device != null) {
        ObjectNode copy = end.deepCopy();
        copy.put("timestamp", ReferenceFrames.timestamp(java.time.Instant.now()));
        device.send(copy);
      }
    }
    running.remove(s.id); // unconditionally, as the reference pops _running_tasks
    remove(s.id);
  }

  private void remove(String sessionId) {
    sessions.remove(sessionId);
    owners.remove(sessionId);
    resultSenders.remove(sessionId);
  }
}
