package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the stand-in's "agent" does for one session, in place of the reference's LLM loop: steps of
 * {@code command} frames (each awaits its {@code command_results}), then an outcome.
 *
 * <p>The same scripts run on the real reference server through the harness that observed it: a task
 * whose {@code request} is {@code script:{json}} (see {@link #fromRequest}) is scripted the same
 * way there, so a test can send one request to either and compare the frames.
 *
 * @param steps what to send, in order
 * @param outcome how the agent ends once every step has its results
 * @param failure the exception text for {@link Outcome#RAISE}
 * @param result the round result to report, or {@code null} for the collected action results
 * @param startDelay time before the first step
 */
public record AgentScript(
    List<Step> steps, Outcome outcome, String failure, JsonNode result, Duration startDelay) {

  /** How the agent ends, as the reference's {@code SessionManager} sees the session. */
  public enum Outcome {
    /** Finished: {@code task_end} completed. */
    COMPLETED,
    /** In error state: {@code task_end} failed with {@code error: null}. */
    ERROR,
    /** Neither finished nor in error: failed, {@code Session ended in unknown state}. */
    UNKNOWN,
    /** The agent raised: failed, with the exception text as {@code error}. */
    RAISE
  }

  /** The reference dispatcher's default wait for a command's results. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(6000);

  /**
   * One agent step: one {@code command} frame.
   *
   * @param agent the agent class name ({@code agent_name})
   * @param process {@code process_name}, or {@code null} to keep the previous one ({@code ""} at
   *     first, the reference's context default)
   * @param root {@code root_name}, likewise
   * @param tools the actions of the frame
   * @param delay time before the frame is sent
   * @param timeout how long the results are awaited before the agent gets failure results
   */
  public record Step(
      String agent,
      String process,
      String root,
      List<Tool> tools,
      Duration delay,
      Duration timeout) {
    /** A step of {@code agent} sending {@code tools} at once. */
    public static Step of(String agent, Tool... tools) {
      return new Step(agent, null, null, List.of(tools), Duration.ZERO, DEFAULT_COMMAND_TIMEOUT);
    }

    /** The same step naming the application it works in. */
    public Step in(String processName, String rootName) {
      return new Step(agent, processName, rootName, tools, delay, timeout);
    }

    /** The same step sent after {@code wait}. */
    public Step after(Duration wait) {
      return new Step(agent, process, root, tools, wait, timeout);
    }

    /** The same step giving up on its results after {@code wait}. */
    public Step timeout(Duration wait) {
      return new Step(agent, process, root, tools, delay, wait);
    }
  }

  /**
   * One action of a command.
   *
   * @param name {@code tool_name}
   * @param type {@code tool_type}: {@code action} or {@code data_collection}
   * @param parameters {@code parameters} (may be {@code null})
   */
  public record Tool(String name, String type, JsonNode parameters) {
    /** An {@code action} tool. */
    public static Tool action(String name, Map<String, ?> parameters) {
      return new Tool(name, "action", ReferenceFrames.JSON.valueToTree(parameters));
    }

    /** A {@code data_collection} tool. */
    public static Tool dataCollection(String name, Map<String, ?> parameters) {
      return new Tool(name, "data_collection", ReferenceFrames.JSON.valueToTree(parameters));
    }
  }

  /** A script that runs {@code steps} and completes. */
  public static AgentScript of(Step... steps) {
    return new AgentScript(List.of(steps), Outcome.COMPLETED, null, null, Duration.ZERO);
  }

  /**
   * What a request without a script runs (as in the harness): a Windows HostAgent session's first
   * two steps, a desktop screenshot and then a click in Excel.
   */
  public static AgentScript defaultScript() {
    return of(
        Step.of(
            "HostAgent",
            Tool.dataCollection("capture_desktop_screenshot", Map.of("all_screens", true))),
        Step.of("AppAgent", Tool.action("click_input", orderedMap("id", "12", "button", "left")))
            .in("EXCEL.EXE", "Excel"));
  }

  /** The same script ending with {@code end}. */
  public AgentScript ending(Outcome end) {
    return new AgentScript(steps, end, failure, result, startDelay);
  }

  /** The same script raising {@code message} at the end (a failed LLM call, say). */
  public AgentScript raising(String message) {
    return new AgentScript(steps, Outcome.RAISE, message, result, startDelay);
  }

  /** The same script reporting {@code value} as its round result. */
  public AgentScript reporting(Object value) {
    return new AgentScript(
        steps, outcome, failure, ReferenceFrames.JSON.valueToTree(value), startDelay);
  }

  /** The same script starting after {@code wait}. */
  public AgentScript startingAfter(Duration wait) {
    return new AgentScript(steps, outcome, failure, result, wait);
  }

  /**
   * The script a task's request asks for: {@code script:} followed by the harness's JSON ({@code
   * steps} of {@code {agent, process, root, tools: [[name, type, params]], delay, timeout}} in
   * seconds, {@code outcome} {@code completed|error|unknown|raise}, {@code message}, {@code
   * result}, {@code delay}); any other request gets {@link #defaultScript()}.
   */
  public static AgentScript fromRequest(String request) {
    if (request == null || !request.startsWith("script:")) {
      return defaultScript();
    }
    JsonNode s;
    try {
      s = ReferenceFrames.JSON.readTree(request.substring("script:".length()));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("bad script: " + e.getOriginalMessage(), e);
    }
    AgentScript base = defaultScript();
    List<Step> steps = base.steps();
    if (s.has("steps")) {
      steps = new ArrayList<>();
      for (JsonNode st : s.get("steps")) {
        List<Tool> tools = new ArrayList<>();
        for (JsonNode t : st.path("tools")) {
          JsonNode params = t.get(2);
          tools.add(
              new Tool(
                  t.get(0).asText(),
                  t.get(1).asText(),
                  params == null || params.isNull() ? null : params));
        }
        steps.add(
            new Step(
                st.path("agent").asText("HostAgent"),
                textOrNull(st.get("process")),
                textOrNull(st.get("root")),
                List.copyOf(tools),
                seconds(st.get("delay"), Duration.ZERO),
                seconds(st.get("timeout"), DEFAULT_COMMAND_TIMEOUT)));
      }
    }
    Outcome outcome =
        Outcome.valueOf(s.path("outcome").asText("completed").toUpperCase(java.util.Locale.ROOT));
    return new AgentScript(
        List.copyOf(steps),
        outcome,
        s.path("message").asText("scripted agent failure"),
        s.has("result") ? s.get("result") : null,
        seconds(s.get("delay"), Duration.ZERO));
  }

  private static String textOrNull(JsonNode n) {
    return n == null || n.isNull() ? null : n.asText();
  }

  private static Duration seconds(JsonNode n, Duration absent) {
    return n == null || n.isNull() ? absent : Duration.ofNanos((long) (n.asDouble() * 1e9));
  }

  private static Map<String, Object> orderedMap(Object... kv) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }
}
