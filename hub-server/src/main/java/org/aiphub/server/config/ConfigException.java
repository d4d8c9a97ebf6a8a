package org.aiphub.server.config;

/**
 * A setting that cannot be used. The message names where it came from (file, environment variable
 * or flag), the key and the value, and is printed as it is when start-up stops.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a complete message. */
  public ConfigException(String message) {
    super(message);
  }

  /** Creates the exception with a complete message and its cause. */
  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /** "key: value (why)" without a source; the loader prefixes the source. */
  public static ConfigException invalid(String key, Object value, String why) {
    return new ConfigException(key + ": " + show(value) + " (" + why + ")");
  }

  static String show(Object value) {
    String s = String.valueOf(value);
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
