package org.aiphub.server.config;

/**
 * A setting that cannot be used. The message names where it came from (file, environment variable
 * or flag), the key and the value, and is printed as it is when start-up stops.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  /** Creates the exception with a complete message. */
  public ConfigException(String message) {
    this(null, message, null);
  }

  /** Creates the exception with a complete message and its cause. */
  public ConfigException(String message, Throwable cause) {
    this(null, message, cause);
  }

  private ConfigException(String key, String message, Throwable cause) {
    super(message, cause);
    this.key = key;
  }

  /**
   * "key: value (why)" without a source; {@link HubConfigLoader} prefixes the source of the key.
   */
  public static ConfigException invalid(String key, Object value, String why) {
    return new ConfigException(key, key + ": " + show(value) + " (" + why + ")", null);
  }

  /** The same problem, its message prefixed with where the key was set. */
  public ConfigException from(String source) {
    return new ConfigException(key, source + ": " + getMessage(), this);
  }

  /** The setting at fault, or {@code null} when the problem is not about one key. */
  public String key() {
    return key;
  }

  static String show(Object value) {
    String s = String.valueOf(value);
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
