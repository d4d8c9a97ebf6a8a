package org.aiphub.server.e2e;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * Client frames in the reference shape: compact JSON, every {@code ClientMessage} field present in
 * declaration order, {@code null} where unset (as the pydantic clients dump them). For frames that
 * have no fixture.
 */
final class AipFrames {
  static final ObjectMapper JSON = new ObjectMapper();

  private static final List<String> FIELDS =
      List.of(
          "type",
          "status",
          "client_type",
          "session_id",
          "task_name",
          "client_id",
          "target_id",
          "request",
          "action_results",
          "timestamp",
          "request_id",
          "prev_response_id",
          "error",
          "metadata");

  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx");

  private final ObjectNode node = JSON.createObjectNode();

  private AipFrames(String type, String status, String clientType, String clientId) {
    for (String f : FIELDS) {
      node.putNull(f);
    }
    node.put("type", type);
    node.put("status", status);
    node.put("client_type", clientType);
    node.put("client_id", clientId);
    node.put("timestamp", OffsetDateTime.now(ZoneOffset.UTC).format(STAMP));
  }

  /** A frame of any type; every other field null. */
  static AipFrames frame(String type, String status, String clientType, String clientId) {
    return new AipFrames(type, status, clientType, clientId);
  }

  /** A device registration with a small system_info and {@code platform: windows}. */
  static AipFrames registerDevice(String id) {
    AipFrames f = frame("register", "ok", "device", id);
    ObjectNode metadata = f.node.putObject("metadata");
    ObjectNode systemInfo = metadata.putObject("system_info");
    systemInfo.put("device_id", id);
    systemInfo.put("platform", "windows");
    systemInfo.putArray("supported_features").add("gui").add("cli");
    systemInfo.putObject("custom_metadata");
    metadata.put("platform", "windows");
    return f;
  }

  /** A constellation registration; {@code target} may be null. */
  static AipFrames registerConstellation(String id, String target) {
    return frame("register", "ok", "constellation", id)
        .set("target_id", target)
        .json("metadata", "{\"type\":\"constellation_client\",\"version\":\"2.0\"}");
  }

  /** A heartbeat as the reference HeartbeatProtocol sends it. */
  static AipFrames heartbeat(String id, String clientType) {
    return frame("heartbeat", "ok", clientType, id);
  }

  /** A constellation's task. */
  static AipFrames task(String constellation, String target, String sessionId, String request) {
    return frame("task", "continue", "constellation", constellation)
        .set("target_id", target)
        .set("session_id", sessionId)
        .set("task_name", "galaxy/e2e/" + (sessionId == null ? "generated" : sessionId))
        .set("request", request);
  }

  /** A device's task_end. */
  static AipFrames taskEnd(String device, String sessionId, String status) {
    return frame("task_end", status, "device", device).set("session_id", sessionId);
  }

  /** A device's error about a session. */
  static AipFrames deviceError(String device, String sessionId, String error) {
    return frame("error", "error", "device", device)
        .set("session_id", sessionId)
        .set("error", error);
  }

  /** A constellation's device_info_request. */
  static AipFrames infoRequest(String constellation, String target, String requestId) {
    return frame("device_info_request", "ok", "constellation", constellation)
        .set("target_id", target)
        .set("request_id", requestId);
  }

  /** A device's device_info_response carrying {@code systemInfoJson}. */
  static AipFrames infoResponse(String device, String systemInfoJson) {
    return frame("device_info_response", "ok", "device", device)
        .json("metadata", "{\"system_info\":" + systemInfoJson + "}");
  }

  /** Sets a string field ({@code null} writes an explicit null). */
  AipFrames set(String field, String value) {
    if (value == null) {
      node.putNull(field);
    } else {
      node.put(field, value);
    }
    return this;
  }

  /** Sets a field to raw JSON. */
  AipFrames json(String field, String rawJson) {
    node.set(field, tree(rawJson));
    return this;
  }

  /** Removes a field altogether. */
  AipFrames without(String field) {
    node.remove(field);
    return this;
  }

  /** The frame's text. */
  String text() {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return text();
  }

  /** Any value (e.g. a registry map) as a JSON tree, normalised through its text. */
  static JsonNode treeOf(Object value) {
    try {
      return tree(JSON.writeValueAsString(value));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Parses JSON text into a tree (for comparing frames as JSON). */
  static JsonNode tree(String rawJson) {
    try {
      return JSON.readTree(rawJson);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
