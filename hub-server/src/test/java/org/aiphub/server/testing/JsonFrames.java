package org.aiphub.server.testing;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AIP client frames written with a real JSON writer, so any text (quotes, newlines, control
 * characters) can go into any field and arrive exactly as given.
 */
public final class JsonFrames {
  private JsonFrames() {}

  /** A device's {@code register} reporting {@code platform} and {@code supported_features}. */
  public static String registerDevice(String deviceId, String platform, List<String> features) {
    Map<String, Object> systemInfo = new LinkedHashMap<>();
    systemInfo.put("device_id", deviceId);
    systemInfo.put("platform", platform);
    systemInfo.put("os_version", "test-os-1");
    systemInfo.put("supported_features", features);
    systemInfo.put("custom_metadata", Map.of("reported", "yes"));
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("platform", platform);
    metadata.put("system_info", systemInfo);
    Map<String, Object> m = base("register", "ok", "device", deviceId);
    m.put("metadata", metadata);
    return HubHttp.write(m);
  }

  /** A constellation's {@code register} without a target device. */
  public static String registerConstellation(String constellationId) {
    return HubHttp.write(base("register", "ok", "constellation", constellationId));
  }

  /** A constellation's {@code task}. */
  public static String task(
      String constellationId, String deviceId, String sessionId, String taskName, String request) {
    Map<String, Object> m = base("task", "continue", "constellation", constellationId);
    m.put("target_id", deviceId);
    m.put("session_id", sessionId);
    m.put("task_name", taskName);
    m.put("request", request);
    return HubHttp.write(m);
  }

  /** A device's {@code task_end} ({@code status} completed or failed). */
  public static String taskEnd(
      String deviceId, String sessionId, String status, Object result, String error) {
    Map<String, Object> m = base("task_end", status, "device", deviceId);
    m.put("session_id", sessionId);
    m.put("result", result);
    m.put("error", error);
    return HubHttp.write(m);
  }

  private static Map<String, Object> base(
      String type, String status, String clientType, String clientId) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", type);
    m.put("status", status);
    m.put("client_type", clientType);
    m.put("client_id", clientId);
    return m;
  }
}
