package org.aiphub.core.aip;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.aiphub.core.json.JsonValues;

/**
 * A message from a client (device or constellation) to the hub, as defined by AIP.
 *
 * <p>Every field but {@code type}, {@code status} and {@code clientType} may be {@code null}; JSON
 * values ({@code metadata}, {@code result}) are frozen, so instances are deeply immutable.
 *
 * @param type message type (required)
 * @param status task status (required)
 * @param clientType sender kind; {@link ClientType#DEVICE} when absent on the wire
 * @param sessionId session the message belongs to
 * @param taskName human-readable task name
 * @param clientId who the sender says it is
 * @param targetId constellations: the device a task or info request is for
 * @param request task request text
 * @param actionResults device results for commands
 * @param timestamp ISO 8601 time the client stamped
 * @param requestId correlation id of a request
 * @param prevResponseId id of the server message this answers
 * @param error error text
 * @param metadata registration details ({@code platform}, {@code system_info}, ...)
 * @param result hub extension: a device's task result (any JSON value)
 */
public record ClientMessage(
    ClientMessageType type,
    TaskStatus status,
    ClientType clientType,
    String sessionId,
    String taskName,
    String clientId,
    String targetId,
    String request,
    List<Result> actionResults,
    String timestamp,
    String requestId,
    String prevResponseId,
    String error,
    Map<String, Object> metadata,
    Object result) {

  /** Validates required fields, applies the {@code client_type} default and freezes values. */
  public ClientMessage {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(status, "status");
    if (clientType == null) {
      clientType = ClientType.DEVICE;
    }
    actionResults = actionResults == null ? null : List.copyOf(actionResults);
    metadata = JsonValues.freezeObject(metadata);
    result = JsonValues.freeze(result);
  }

  /** Starts a builder for a message of the given type and status. */
  public static Builder builder(ClientMessageType type, TaskStatus status) {
    return new Builder(type, status);
  }

  /** Mutable builder for tests, tools and the load generator. */
  public static final class Builder {
    private final ClientMessageType type;
    private final TaskStatus status;
    private ClientType clientType = ClientType.DEVICE;
    private String sessionId;
    private String taskName;
    private String clientId;
    private String targetId;
    private String request;
    private List<Result> actionResults;
    private String timestamp;
    private String requestId;
    private String prevResponseId;
    private String error;
    private Map<String, Object> metadata;
    private Object result;

    private Builder(ClientMessageType type, TaskStatus status) {
      this.type = type;
      this.status = status;
    }

    /** Sets {@code client_type}. */
    public Builder clientType(ClientType v) {
      clientType = v;
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

    /** Sets {@code client_id}. */
    public Builder clientId(String v) {
      clientId = v;
      return this;
    }

    /** Sets {@code target_id}. */
    public Builder targetId(String v) {
      targetId = v;
      return this;
    }

    /** Sets {@code request}. */
    public Builder request(String v) {
      request = v;
      return this;
    }

    /** Sets {@code action_results}. */
    public Builder actionResults(List<Result> v) {
      actionResults = v;
      return this;
    }

    /** Sets {@code timestamp}. */
    public Builder timestamp(String v) {
      timestamp = v;
      return this;
    }

    /** Sets {@code request_id}. */
    public Builder requestId(String v) {
      requestId = v;
      return this;
    }

    /** Sets {@code prev_response_id}. */
    public Builder prevResponseId(String v) {
      prevResponseId = v;
      return this;
    }

    /** Sets {@code error}. */
    public Builder error(String v) {
      error = v;
      return this;
    }

    /** Sets {@code metadata} (copied and frozen). */
    public Builder metadata(Map<String, Object> v) {
      metadata = v;
      return this;
    }

    /** Sets the {@code result} extension (copied and frozen). */
    public Builder result(Object v) {
      result = v;
      return this;
    }

    /** Builds the immutable message. */
    public ClientMessage build() {
      return new ClientMessage(
          type,
          status,
          clientType,
          sessionId,
          taskName,
          clientId,
          targetId,
          request,
          actionResults,
          timestamp,
          requestId,
          prevResponseId,
          error,
          metadata,
          result);
    }
  }
}
