package org.aiphub.core.aip;

import java.util.Map;
import java.util.Objects;
import org.aiphub.core.json.JsonValues;

/**
 * A tool invocation sent to a device inside a {@code command} message.
 *
 * @param toolName the tool to run (required)
 * @param parameters tool arguments, a read-only JSON object, or {@code null}
 * @param toolType whether the tool only collects data or acts (required)
 * @param callId correlates the device's {@link Result}, or {@code null}
 */
public record Command(
    String toolName, Map<String, Object> parameters, ToolType toolType, String callId) {
  /** Validates required fields and freezes {@code parameters}. */
  public Command {
    Objects.requireNonNull(toolName, "toolName");
    Objects.requireNonNull(toolType, "toolType");
    parameters = JsonValues.freezeObject(parameters);
  }
}
