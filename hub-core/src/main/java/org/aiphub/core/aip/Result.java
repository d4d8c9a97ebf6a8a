package org.aiphub.core.aip;

import java.util.Objects;
import org.aiphub.core.json.JsonValues;

/**
 * The outcome of one {@link Command}, reported by a device.
 *
 * @param status how the command ended (required)
 * @param error error text, or {@code null}
 * @param result any JSON value (frozen), or {@code null}
 * @param namespace the tool's namespace, or {@code null}
 * @param callId the command's {@code call_id}, or {@code null}
 */
public record Result(
    ResultStatus status, String error, Object result, String namespace, String callId) {
  /** Validates {@code status} and freezes {@code result}. */
  public Result {
    Objects.requireNonNull(status, "status");
    result = JsonValues.freeze(result);
  }
}
