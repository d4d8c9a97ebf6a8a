package org.aiphub.server.netty;

/**
 * A user event asking the connection handler to close its connection, so every close the hub starts
 * goes through one place that first stops further writes.
 *
 * @param code WebSocket close code
 * @param reason short reason sent in the close frame
 * @param immediate close the socket at once instead of waiting for the close frame to be written
 *     (for peers that do not read)
 */
public record CloseRequest(int code, String reason, boolean immediate) {}
