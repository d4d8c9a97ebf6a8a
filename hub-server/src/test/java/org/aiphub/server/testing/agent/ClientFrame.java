package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A client frame validated as the reference's pydantic {@code ClientMessage}: {@code type} and
 * {@code status} required and from their enums, {@code client_type} {@code device} when absent (an
 * explicit {@code null} is invalid), text fields text or null, {@code action_results} a list of
 * {@code Result}, {@code metadata} an object; unknown fields ignored.
 */
record ClientFrame(
    String type,
    String status,
    String clientType,
    String sessionId,
    String taskName,
    String clientId,
    String targetId,
    String request,
    ArrayNode actionResults,
    String requestId,
    String prevResponseId,
    String error,
    ObjectNode metadata) {

  static final Set<String> TYPES =
      Set.of(
          "task",
          "heartbeat",
          "command_results",
          "error",
          "register",
          "task_end",
          "device_info_request",
          "device_info_response");
  static final Set<String> STATUSES = Set.of("continue", "completed", "failed", "ok", "error");
  static final Set<String> CLIENT_TYPES = Set.of("device", "constellation");
  static final Set<String> RESULT_STATUSES = Set.of("success", "failure", "skipped", "none");

  /** A frame pydantic would refuse; the message is in pydantic's layout (not its exact words). */
  static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;

    Invalid(List<String> problems) {
      super(
          problems.size()
              + " validation error"
              + (problems.size() == 1 ? "" : "s")
              + " for ClientMessage\n"
              + String.join("\n", problems));
    }
  }

  static ClientFrame parse(String text) throws Invalid {
    JsonNode n;
    try {
      n = ReferenceFrames.JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new Invalid(
          List.of("  Invalid JSON: " + e.getOriginalMessage() + " [type=json_invalid]"));
    }
    if (n == null || !n.isObject()) {
      throw new Invalid(List.of("  Input should be an object [type=model_type]"));
    }
    List<String> problems = new ArrayList<>();
    String type = choice(n, "type", TYPES, true, problems);
    String status = choice(n, "status", STATUSES, true, problems);
    String clientType =
        n.has("client_type") ? choice(n, "client_type", CLIENT_TYPES, true, problems) : "device";
    ArrayNode results = null;
    JsonNode ar = n.get("action_results");
    if (ar != null && !ar.isNull()) {
      if (!ar.isArray()) {
        problems.add("action_results\n  Input should be a valid list [type=list_type]");
      } else {
        for (JsonNode r : ar) {
          if (!r.isObject()) {
            problems.add("action_results\n  Input should be an object [type=model_type]");
          } else {
            choice(r, "status", RESULT_STATUSES, true, problems);
          }
        }
        results = (ArrayNode) ar;
      }
    }
    JsonNode md = n.get("metadata");
    if (md != null && !md.isNull() && !md.isObject()) {
      problems.add("metadata\n  Input should be a valid dictionary [type=dict_type]");
    }
    ClientFrame f =
        new ClientFrame(
            type,
            status,
            clientType,
            str(n, "session_id", problems),
            str(n, "task_name", problems),
            str(n, "client_id", problems),
            str(n, "target_id", problems),
            str(n, "request", problems),
            results,
            str(n, "request_id", problems),
            str(n, "prev_response_id", problems),
            str(n, "error", problems),
            md != null && md.isObject() ? (ObjectNode) md : null);
    str(n, "timestamp", problems);
    if (!problems.isEmpty()) {
      throw new Invalid(problems);
    }
    return f;
  }

  private static String choice(
      JsonNode n, String field, Set<String> allowed, boolean required, List<String> problems) {
    JsonNode v = n.get(field);
    if (v == null) {
      if (required) {
        problems.add(field + "\n  Field required [type=missing]");
      }
      return null;
    }
    if (!v.isTextual() || !allowed.contains(v.asText())) {
      problems.add(field + "\n  Input should be one of " + allowed + " [type=enum]");
      return null;
    }
    return v.asText();
  }

  private static String str(JsonNode n, String field, List<String> problems) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      problems.add(field + "\n  Input should be a valid string [type=string_type]");
      return null;
    }
    return v.asText();
  }

  /** The reference's name for the type in "Unknown message type: ..." texts. */
  String enumName() {
    return "ClientMessageType." + type.toUpperCase(java.util.Locale.ROOT);
  }
}
