package org.aiphub.server.route;

import java.util.Map;
import java.util.Optional;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.registry.ClientInfo;
import org.aiphub.core.registry.ClientInfoLimitException;
import org.aiphub.core.registry.ClientRegistry;

/**
 * The device info verbs: a constellation's {@code device_info_request} (answered from the cached,
 * merged system info, within the constellation's scope) and a device's {@code device_info_response}
 * (which refreshes its cached info, within the client-info limits).
 */
final class DeviceInfo {
  private final ClientRegistry registry;
  private final Messages messages;
  private final RouterEvents events;
  private final Refusals refusals;

  DeviceInfo(ClientRegistry registry, Messages messages, RouterEvents events, Refusals refusals) {
    this.registry = registry;
    this.messages = messages;
    this.events = events;
    this.refusals = refusals;
  }

  /** Handles a {@code device_info_request} frame from a registered client. */
  void request(ClientConnection conn, Identity id, ClientMessage m) {
    if (id.isDevice()) {
      refusals.reject(
          conn, id, "only constellations may request device info", null, "device_info_by_device");
      return;
    }
    String target = m.targetId() != null ? m.targetId() : id.targetId();
    if (target == null) {
      conn.send(messages.deviceInfoError(m.requestId(), "device_info_request needs a target_id"));
      events.refused(id, "bad_info_request");
      return;
    }
    if (id.targetId() != null && !id.targetId().equals(target)) {
      conn.send(
          messages.deviceInfoError(
              m.requestId(),
              "this constellation registered for device "
                  + Text.quote(id.targetId())
                  + " and may only ask about it"));
      events.refused(id, "out_of_scope");
      return;
    }
    Optional<ClientInfo> device = registry.getClientInfo(target).filter(ClientInfo::isDevice);
    if (device.isEmpty()) {
      conn.send(
          messages.deviceInfoError(
              m.requestId(), "device " + Text.quote(target) + " is not connected"));
      return;
    }
    conn.send(messages.deviceInfo(m.requestId(), device.get().systemInfo()));
  }

  /** Handles a {@code device_info_response} frame from a registered client. */
  void response(ClientConnection conn, Identity id, ClientMessage m) {
    if (!id.isDevice()) {
      refusals.reject(conn, id, "only devices report device info", null, "info_by_constellation");
      return;
    }
    Object si = m.metadata() == null ? null : m.metadata().get("system_info");
    if (!(si instanceof Map)) {
      refusals.reject(
          conn,
          id,
          "device_info_response needs metadata.system_info as an object",
          null,
          "bad_device_info");
      return;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> systemInfo = (Map<String, Object>) si;
    boolean updated;
    try {
      updated = registry.updateDeviceSystemInfo(id.clientId(), conn, systemInfo);
    } catch (ClientInfoLimitException e) {
      events.limitExceeded(e.limit());
      refusals.reject(conn, id, e.getMessage(), null, e.limit());
      return;
    }
    if (updated) {
      events.deviceInfoUpdated(id.clientId(), systemInfo);
    }
  }
}
