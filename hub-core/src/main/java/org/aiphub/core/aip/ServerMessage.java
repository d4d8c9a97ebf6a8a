package org.aiphub.core.aip;

import java.util.List;
import java.util.Objects;
import org.aiphub.core.json.JsonValues;

/**
 * A message from the hub to a client, as defined by AIP. Deeply immutable.
 *
 * @param type message type (required)
 * @param status task status (required)
 * @param userRequest the request text of a task
 * @param agentName agent handling the task
 * @param processName process of the execution context
 * @param rootName root application name
 * @param actions commands to execute
 * @param messages log lines
 * @param error error text
 * @param sessionId session the message belongs to
 * @param taskName human-readable task name
 * @param timestamp ISO 8601 UTC time of sending
 * @param responseId fresh id, or the {@code request_id} of the request this answers
 * @param result task result or device info (any JSON value, frozen)
 */
public record ServerMessage(
    ServerMessageType type,
    TaskStatus status,
    String userRequest,
    String agentName,
    String processName,
    String rootName,
    List<Command> actions,
    List<String> messages,
    String error,
    String sessionId,
    String taskName,
    String timestamp,
    String responseId,
    Object result) {

  /** Validates required fields and freezes values. */
  public ServerMessage {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(status, "status");
    actions = actions == null ? null : List.copyOf(actions);
    messages = JsonValues.freezeStrings(messages);
    result = JsonValues.freeze(result);
  }

  /** Starts a builder for a message of the given type and status. */
  public static Builder builder(ServerMessageType type, TaskStatus status) {
    return new Builder(type, status);
  }

  /** Mutable builder; the hub's message factories use it. */
  public static final class Builder {
    private final ServerMessageType type;
    private final TaskStatus status;
    private String userRequest;
    private String agentName;
    private String processName;
    private String rootName;
    private List<Command> actions;
    private List<String> messages;
    private String error;
    private String sessionId;
    private String taskName;
    private String timestamp;
    private String responseId;
    private Object result;

    private Builder(ServerMessageType type, TaskStatus status) {
      this.type = type;
      this.status = status;
    }

    /** Sets {@code user_request}. */
    public Builder userRequest(String v) {
      userRequest = v;
      return this;
    }

    /** Sets {@code agent_name}. */
    public Builder agentName(String v) {
      agentName = v;
      return this;
    }

    /** Sets {@code process_name}. */
    public Builder processName(String v) {
      processName = v;
      return this;
    }

    /** Sets {@code root_name}. */
    public Builder rootName(String v) {
      rootName = v;
      return this;
    }

    /** Sets {@code actions}. */
    public Builder actions(List<Command> v) {
      actions = v;
      return this;
    }

    /** Sets {@code messages}. */
    public Builder messages(List<String> v) {
      messages = v;
      return this;
    }

    /** Sets {@code error}. */
    public Builder error(String v) {
      error = v;
      return this;
    }

    /** Sets {@code session_id}. */
    public Builder sessionId(String v) {
      sessionId = v;
      return this;
    }

    /** Sets {@code task_name}. */
    public Builder taskName(String v) {
      taskName = v;
      return this;
    }

    /** Sets {@code timestamp}. */
    public Builder timestamp(String v) {
      timestamp = v;
      return this;
    }

    /** Sets {@code response_id}. */
    public Builder responseId(String v) {
      responseId = v;
      return this;
    }

    /** Sets {@code result} (copied and frozen). */
    public Builder result(Object v) {
      result = v;
      return this;
    }

    /** Builds the immutable message. */
    public ServerMessage build() {
      return new ServerMessage(
          type,
          status,
          userRequest,
          agentName,
          processName,
          rootName,
          actions,
          messages,
          error,
          sessionId,
          taskName,
          timestamp,
          responseId,
          result);
    }
  }
}
