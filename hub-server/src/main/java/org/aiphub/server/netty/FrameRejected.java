package org.aiphub.server.netty;

import org.aiphub.core.aip.AipDecodeException;

/**
 * A WebSocket message that is not a valid AIP message, passed up the pipeline in place of a record
 * so the connection handler can answer it.
 *
 * @param reason why, for the error frame and the metrics
 */
public record FrameRejected(AipDecodeException reason) {}
