package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/**
 * Client frames in the shape UFO's own clients send them (pydantic: every {@code ClientMessage}
 * field, declaration order, nulls included): a device ({@code ufo.client}) and a Galaxy
 * constellation. Ids and texts go in as given.
 */
public final class ReferenceClientFrames {
  private ReferenceClientFrames() {}

  /** A client frame with every field null but {@code type}, {@code status}, {@code client_type}. */
  public static ObjectNode frame(String type, String status, String clientType, String clientId) {
    ObjectNode m = ReferenceFrames.JSON.createObjectNode();
    for (String f : ReferenceFrames.CLIENT_FIELDS) {
      m.putNull(f);
    }
    m.put("type", type);
    m.put("status", status);
    m.put("client_type", clientType);
    m.put("client_id", clientId);
    m.put("timestamp", ReferenceFrames.timestamp(Instant.now()));
    return m;
  }

  /** A device's registration with {@code metadata.system_info} and {@code platform}. */
  public static String registerDevice(String deviceId, String platform) {
    ObjectNode m = frame("register", "ok", "device", deviceId);
    ObjectNode md = m.putObject("metadata");
    ObjectNode si = md.putObject("system_info");
    si.put("device_id", deviceId);
    si.put("platform", platform);
    si.put("os_version", "10.0.22631");
    si.put("cpu_count", 8);
    si.putArray("supported_features").add("gui").add("cli");
    si.putObject("custom_metadata");
    md.put("registration_time", ReferenceFrames.timestamp(Instant.now()));
    md.put("platform", platform);
    return ReferenceFrames.text(m);
  }

  /** A Galaxy constellation's registration ({@code target} may be null). */
  public static String registerConstellation(String constellationId, String target) {
    ObjectNode m = frame("register", "ok", "constellation", constellationId);
    m.put("target_id", target);
    ObjectNode md = m.putObject("metadata");
    md.put("type", "constellation_client");
    md.put("targeted_device_id", target);
    return ReferenceFrames.text(m);
  }

  /** Galaxy's task frame for {@code target}. */
  public static String task(
      String constellationId, String target, String sessionId, String taskName, String request) {
    ObjectNode m = frame("task", "continue", "constellation", constellationId);
    m.put("target_id", target);
    m.put("session_id", sessionId);
    m.put("task_name", taskName);
    m.put("request", request);
    return ReferenceFrames.text(m);
  }

  /** A device's own request ({@code python -m ufo.client.client --request}): no session id. */
  public static String deviceRequest(
      String deviceId, String taskName, String request, String platform) {
    ObjectNode m = frame("task", "continue", "device", deviceId);
    m.put("task_name", taskName);
    m.put("request", request);
    m.put("request_id", ReferenceFrames.uuid());
    m.putObject("metadata").put("platform", platform);
    return ReferenceFrames.text(m);
  }

  /**
   * A heartbeat as {@code HeartbeatProtocol.send_heartbeat} sends it (client_type device, always).
   */
  public static String heartbeat(String clientId) {
    return ReferenceFrames.text(frame("heartbeat", "ok", "device", clientId));
  }

  /** The device's answer to a {@code command} frame: one success per action. */
  public static String commandResults(String deviceId, JsonNode command) {
    ObjectNode m = frame("command_results", command.path("status").asText(), "device", deviceId);
    m.put("session_id", command.path("session_id").asText(null));
    ArrayNode results = m.putArray("action_results");
    for (JsonNode a : command.path("actions")) {
      ObjectNode r = results.addObject();
      r.put("status", "success");
      r.putNull("error");
      r.put("result", a.path("tool_name").asText() + " done");
      r.put("namespace", "TestTools");
      r.put("call_id", a.path("call_id").asText(null));
    }
    m.put("request_id", ReferenceFrames.uuid());
    m.put("prev_response_id", command.path("response_id").asText(null));
    return ReferenceFrames.text(m);
  }

  /** A constellation's {@code device_info_request}. */
  public static String deviceInfoRequest(String constellationId, String target, String requestId) {
    ObjectNode m = frame("device_info_request", "ok", "constellation", constellationId);
    m.put("target_id", target);
    m.put("request_id", requestId);
    return ReferenceFrames.text(m);
  }
}
