package org.aiphub.server.security;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.server.testing.HubHttp;

/**
 * Attack frames written with a real JSON writer: any field may hold any value, so a test can put a
 * control character, a wrong type or a forged identity anywhere.
 */
final class Frames {
  private Frames() {}

  /** A frame's fields, in order; change them and {@link #json} it. */
  static Map<String, Object> of(String type, String status, String clientType, String clientId) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", type);
    m.put("status", status);
    m.put("client_type", clientType);
    m.put("client_id", clientId);
    return m;
  }

  /** {@code fields} as JSON text. */
  static String json(Map<String, ?> fields) {
    return HubHttp.write(fields);
  }

  /**
   * A heartbeat as the reference clients send it (client_type {@code device}, even from a
   * constellation).
   */
  static String heartbeat(String clientId) {
    return json(of("heartbeat", "ok", "device", clientId));
  }

  /** A task from a constellation. */
  static String task(String from, String target, String sessionId, String request) {
    Map<String, Object> m = of("task", "continue", "constellation", from);
    m.put("target_id", target);
    m.put("session_id", sessionId);
    m.put("task_name", "attack_task");
    m.put("request", request);
    return json(m);
  }

  /** A device's task_end for {@code sessionId}, claiming to come from {@code clientId}. */
  static String taskEnd(String clientId, String sessionId, String status, Object result) {
    Map<String, Object> m = of("task_end", status, "device", clientId);
    m.put("session_id", sessionId);
    m.put("result", result);
    return json(m);
  }

  /** A device's error about {@code sessionId}. */
  static String deviceError(String clientId, String sessionId, String error) {
    Map<String, Object> m = of("error", "error", "device", clientId);
    m.put("session_id", sessionId);
    m.put("error", error);
    return json(m);
  }

  /** A device's command_results for {@code sessionId}. */
  static String commandResults(String clientId, String sessionId) {
    Map<String, Object> m = of("command_results", "continue", "device", clientId);
    m.put("session_id", sessionId);
    m.put(
        "action_results", List.of(Map.of("status", "success", "result", "done", "call_id", "c1")));
    return json(m);
  }

  /** A device_info_request from a constellation (or a device pretending). */
  static String infoRequest(String clientType, String from, String target, String requestId) {
    Map<String, Object> m = of("device_info_request", "ok", clientType, from);
    m.put("target_id", target);
    m.put("request_id", requestId);
    return json(m);
  }

  /** A device_info_response carrying {@code systemInfo}. */
  static String infoResponse(String clientType, String from, Map<String, Object> systemInfo) {
    Map<String, Object> m = of("device_info_response", "ok", clientType, from);
    m.put("metadata", Map.of("system_info", systemInfo));
    return json(m);
  }

  /** A device's register, with {@code metadata.auth_token} when {@code token} is not null. */
  static String registerDevice(String id, String token) {
    Map<String, Object> m = of("register", "ok", "device", id);
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("platform", "linux");
    metadata.put("system_info", Map.of("device_id", id, "platform", "linux"));
    if (token != null) {
      metadata.put("auth_token", token);
    }
    m.put("metadata", metadata);
    return json(m);
  }

  /** A constellation's register scoped to {@code target} (null: no scope). */
  static String registerConstellation(String id, String target) {
    Map<String, Object> m = of("register", "ok", "constellation", id);
    m.put("target_id", target);
    return json(m);
  }
}
