package org.aiphub.core.device;

/**
 * A device config file that cannot be used. The message names the file, and the line and key where
 * the parser or the validation can tell them.
 */
public final class DeviceConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a complete, user-facing message. */
  public DeviceConfigException(String message) {
    super(message);
  }

  /** Creates an exception with a complete, user-facing message and its cause. */
  public DeviceConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
