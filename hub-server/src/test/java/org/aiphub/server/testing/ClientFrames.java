package org.aiphub.server.testing;

/**
 * Client frames for tests that need many ids, in the shape the reference clients send (compact
 * JSON). Ids and texts are put in as they are: callers use plain ASCII without quotes or
 * backslashes.
 */
public final class ClientFrames {
  private ClientFrames() {}

  /** A device's {@code register}. */
  public static String registerDevice(String deviceId) {
    return "{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\""
        + deviceId
        + "\",\"metadata\":{\"platform\":\"linux\",\"system_info\":{\"device_id\":\""
        + deviceId
        + "\",\"platform\":\"linux\"}}}";
  }

  /** A constellation's {@code register} without a target device. */
  public static String registerConstellation(String constellationId) {
    return "{\"type\":\"register\",\"status\":\"ok\",\"client_type\":\"constellation\","
        + "\"client_id\":\""
        + constellationId
        + "\"}";
  }

  /** A constellation's {@code task} for a device. */
  public static String task(
      String constellationId, String deviceId, String sessionId, String request) {
    return "{\"type\":\"task\",\"status\":\"continue\",\"client_type\":\"constellation\","
        + "\"client_id\":\""
        + constellationId
        + "\",\"target_id\":\""
        + deviceId
        + "\",\"session_id\":\""
        + sessionId
        + "\",\"task_name\":\"e2e/"
        + sessionId
        + "\",\"request\":\""
        + request
        + "\"}";
  }

  /** A device's {@code task_end} with status {@code completed} and a JSON {@code result}. */
  public static String taskEnd(String deviceId, String sessionId, String resultJson) {
    return "{\"type\":\"task_end\",\"status\":\"completed\",\"client_type\":\"device\","
        + "\"client_id\":\""
        + deviceId
        + "\",\"session_id\":\""
        + sessionId
        + "\",\"result\":"
        + resultJson
        + "}";
  }

  /** A {@code heartbeat}, as the reference heartbeat loop sends it. */
  public static String heartbeat(String clientId) {
    return "{\"type\":\"heartbeat\",\"status\":\"ok\",\"client_type\":\"device\",\"client_id\":\""
        + clientId
        + "\"}";
  }

  /** A string of {@code n} ASCII letters, for large requests and results. */
  public static String filler(int n) {
    char[] c = new char[n];
    for (int i = 0; i < n; i++) {
      c[i] = (char) ('a' + i % 26);
    }
    return new String(c);
  }
}
