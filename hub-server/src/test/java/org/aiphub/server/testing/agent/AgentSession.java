package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One session of the stand-in: the reference's service session with its {@code
 * WebSocketCommandDispatcher}, the agent loop replaced by an {@link AgentScript}. Lives on the
 * server's single event loop (as the reference lives on its asyncio loop), so nothing here locks.
 *
 * <p>Commands go to the socket the executor had when the task arrived (the reference binds its
 * dispatcher to that socket's protocol); {@code results} follows the harness's scripted session:
 * after each step {@code [{"request": request, "result": [[step results]...]}]}.
 */
final class AgentSession {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  final String id;
  final String owner;
  final String executor;
  final boolean ownerIsConstellation;
  final String taskName;
  final String request;
  final AgentScript script;

  /** The socket commands go to: the executor's at task time. */
  final AgentConnection executorSocket;

  private final AgentSessions manager;

  /** The dispatcher's pending futures: response id -> the run awaiting it. */
  private final Map<String, Run> pending = new HashMap<>();

  private JsonNode results = NODES.arrayNode();
  private String processName = "";
  private String rootName = "";

  AgentSession(
      AgentSessions manager,
      String id,
      String owner,
      String executor,
      boolean ownerIsConstellation,
      String taskName,
      String request,
      AgentScript script,
      AgentConnection executorSocket) {
    this.manager = manager;
    this.id = id;
    this.owner = owner;
    this.executor = executor;
    this.ownerIsConstellation = ownerIsConstellation;
    this.taskName = taskName;
    this.request = request;
    this.script = script;
    this.executorSocket = executorSocket;
  }

  /** The session's results so far (what a cancellation reports as partial result). */
  JsonNode results() {
    return results;
  }

  /** Starts one run of the agent (the reference's background task); returns it. */
  Run start() {
    Run r = new Run();
    r.after(script.startDelay(), r::nextStep);
    return r;
  }

  /** The dispatcher's {@code set_result}: completes the command awaiting {@code responseId}. */
  void setResult(String responseId, ArrayNode actionResults) {
    Run r = pending.remove(responseId);
    if (r != null) {
      // The reference resolves a future here; the agent resumes on a later loop turn, after
      // the frames already read (a heartbeat right behind the results is answered first).
      manager.loop().execute(() -> r.stepDone(actionResults));
    }
  }

  /** One execution of the script (normally one per session). */
  final class Run {
    private final ArrayNode collected = NODES.arrayNode();
    private int step;
    private boolean done;
    private ScheduledFuture<?> timer;
    private String awaiting;

    boolean done() {
      return done;
    }

    private void after(Duration wait, Runnable next) {
      if (wait.isZero() || wait.isNegative()) {
        next.run();
      } else {
        timer = manager.loop().schedule(next, wait.toNanos(), TimeUnit.NANOSECONDS);
      }
    }

    private void nextStep() {
      if (done) {
        return;
      }
      List<AgentScript.Step> steps = script.steps();
      if (step == steps.size()) {
        finish();
        return;
      }
      AgentScript.Step s = steps.get(step);
      after(s.delay(), () -> send(s));
    }

    private void send(AgentScript.Step s) {
      if (done) {
        return;
      }
      if (s.process() != null) {
        processName = s.process();
      }
      if (s.root() != null) {
        rootName = s.root();
      }
      ArrayNode actions = NODES.arrayNode();
      for (AgentScript.Tool t : s.tools()) {
        ObjectNode a = actions.addObject();
        a.put("tool_name", t.name());
        a.set("parameters", t.parameters() == null ? NODES.nullNode() : t.parameters().deepCopy());
        a.put("tool_type", t.type());
        a.put("call_id", ReferenceFrames.uuid());
      }
      ObjectNode cmd = ReferenceFrames.server("command", "continue");
      cmd.put("agent_name", s.agent());
      cmd.put("process_name", processName);
      cmd.put("root_name", rootName);
      cmd.set("actions", actions);
      cmd.put("session_id", id);
      cmd.put("task_name", taskName);
      String responseId = ReferenceFrames.uuid();
      cmd.put("response_id", responseId);
      pending.put(responseId, this);
      awaiting = responseId;
      if (!executorSocket.send(cmd)) {
        pending.remove(responseId);
        stepDone(errorResults(actions, "WebSocket connection is closed"));
        return;
      }
      timer =
          manager
              .loop()
              .schedule(
                  () -> {
                    if (pending.remove(responseId) != null) {
                      stepDone(errorResults(actions, ""));
                    }
                  },
                  s.timeout().toNanos(),
                  TimeUnit.NANOSECONDS);
    }

    private void stepDone(ArrayNode actionResults) {
      if (done) {
        return;
      }
      cancelTimer();
      pending.remove(awaiting);
      ArrayNode normalized = collected.addArray();
      if (actionResults != null) {
        for (JsonNode r : actionResults) {
          ObjectNode o = normalized.addObject();
          for (String f : ReferenceFrames.RESULT_FIELDS) {
            JsonNode v = r.get(f);
            o.set(f, v == null ? NODES.nullNode() : v.deepCopy());
          }
        }
      }
      ArrayNode rounds = NODES.arrayNode();
      rounds.addObject().put("request", request).set("result", collected.deepCopy());
      results = rounds;
      step++;
      nextStep();
    }

    private void finish() {
      done = true;
      String status = "completed";
      String error = null;
      switch (script.outcome()) {
        case RAISE -> {
          status = "failed";
          error = script.failure();
        }
        case ERROR -> {
          status = "failed";
          useScriptResult();
          if (results.isEmpty()) {
            results = NODES.objectNode().put("failure", "session ended with an error");
          }
        }
        case UNKNOWN -> {
          status = "failed";
          error = "Session ended in unknown state";
          useScriptResult();
        }
        case COMPLETED -> useScriptResult();
      }
      manager.ended(AgentSession.this, status, error, results);
    }

    private void useScriptResult() {
      if (script.result() != null) {
        ArrayNode rounds = NODES.arrayNode();
        rounds.addObject().put("request", request).set("result", script.result().deepCopy());
        results = rounds;
      }
    }

    /** Stops the run where it is (the reference's {@code task.cancel()}). */
    void cancel() {
      done = true;
      cancelTimer();
      pending.values().removeIf(r -> r == this);
    }

    private void cancelTimer() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }
  }

  /** The dispatcher's {@code generate_error_results}: one failure per command. */
  private static ArrayNode errorResults(ArrayNode actions, String error) {
    ArrayNode out = NODES.arrayNode();
    for (JsonNode a : actions) {
      String text =
          "Error occurred while executing command tool_name="
              + ReferenceFrames.pyRepr(a.path("tool_name").asText())
              + " parameters="
              + ReferenceFrames.pyRepr(a.get("parameters"))
              + " tool_type="
              + ReferenceFrames.pyRepr(a.path("tool_type").asText())
              + " call_id="
              + ReferenceFrames.pyRepr(a.path("call_id").asText())
              + ": "
              + error
              + ", please retry or execute a different command.";
      ObjectNode r = out.addObject();
      r.put("status", "failure");
      r.put("error", text);
      r.put("result", text);
      r.putNull("namespace");
      r.put("call_id", a.path("call_id").asText());
    }
    return out;
  }
}
