package org.aiphub.bench.loadgen;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.TaskStatus;

/**
 * The AIP frames the load generator sends, and its session-id scheme.
 *
 * <p>A session id is {@code <constellationId>~<seq>}: the device can name the owner in its {@code
 * task_end} ({@code target_id}, which the hub ignores and the floor relay routes by), and the
 * constellation recovers the task's sequence number, hence its scheduled send time, without a map.
 */
final class Frames {
  /** Separates the owner from the sequence number in a session id (a legal hub id character). */
  static final char SEPARATOR = '~';

  private static final Map<String, Object> RESULT = Map.of("status", "done", "steps", 3);

  private Frames() {}

  static String sessionId(String constellationId, long seq) {
    return constellationId + SEPARATOR + seq;
  }

  /** The constellation named in a session id, or null when the id is not one of ours. */
  static String owner(String sessionId) {
    int at = sessionId == null ? -1 : sessionId.lastIndexOf(SEPARATOR);
    return at <= 0 ? null : sessionId.substring(0, at);
  }

  /** The sequence number in a session id, or -1 when the id is not one of ours. */
  static long seq(String sessionId) {
    int at = sessionId == null ? -1 : sessionId.lastIndexOf(SEPARATOR);
    if (at < 0 || at == sessionId.length() - 1) {
      return -1;
    }
    long v = 0;
    for (int i = at + 1; i < sessionId.length(); i++) {
      char c = sessionId.charAt(i);
      if (c < '0' || c > '9' || v > Long.MAX_VALUE / 10 - 9) {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /**
   * A device registration shaped like UFO's: {@code metadata.system_info} of about 0.5 KB, the
   * platform and the registration time.
   */
  static ClientMessage registerDevice(String deviceId) {
    String now = Instant.now().toString();
    Map<String, Object> custom = new LinkedHashMap<>();
    custom.put("site", "bench-rack-3");
    custom.put("owner", "load-generator");
    custom.put("tags", List.of("loadgen", "synthetic", "office"));
    Map<String, Object> info = new LinkedHashMap<>();
    info.put("device_id", deviceId);
    info.put("platform", "windows");
    info.put("os_version", "10.0.22631");
    info.put("cpu_count", 8);
    info.put("memory_total_gb", 15.8);
    info.put("hostname", "WIN-" + deviceId.toUpperCase(java.util.Locale.ROOT));
    info.put("ip_address", "10.0.0.21");
    info.put(
        "supported_features",
        List.of("gui", "cli", "browser", "file_system", "office", "windows_apps"));
    info.put("platform_type", "computer");
    info.put("schema_version", "1.0");
    info.put("screen_resolution", "1920x1080");
    info.put("locale", "en-US");
    info.put("custom_metadata", custom);
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("system_info", info);
    metadata.put("registration_time", now);
    metadata.put("platform", "windows");
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.DEVICE)
        .clientId(deviceId)
        .timestamp(now)
        .metadata(metadata)
        .build();
  }

  /** A constellation registration without a fixed target: it sends tasks to every device. */
  static ClientMessage registerConstellation(String constellationId) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("type", "constellation_client");
    metadata.put("task_name", "loadgen");
    metadata.put(
        "capabilities", List.of("task_distribution", "session_management", "device_coordination"));
    metadata.put("version", "2.0");
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK)
        .clientType(ClientType.CONSTELLATION)
        .clientId(constellationId)
        .timestamp(Instant.now().toString())
        .metadata(metadata)
        .build();
  }

  static ClientMessage task(String constellationId, String deviceId, long seq) {
    return ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
        .clientType(ClientType.CONSTELLATION)
        .clientId(constellationId)
        .targetId(deviceId)
        .sessionId(sessionId(constellationId, seq))
        .taskName("galaxy/loadgen/fill_sheet")
        .request("Open sales.xlsx and total column C")
        .build();
  }

  /** A completed {@code task_end} whose {@code target_id} names the session's owner. */
  static ClientMessage taskEnd(String deviceId, String sessionId) {
    return ClientMessage.builder(ClientMessageType.TASK_END, TaskStatus.COMPLETED)
        .clientType(ClientType.DEVICE)
        .clientId(deviceId)
        .targetId(owner(sessionId))
        .sessionId(sessionId)
        .result(RESULT)
        .build();
  }
}
