package org.aiphub.core.aip;

import java.util.Locale;

/**
 * A frame that is not a valid AIP message. The message is short and safe to send back to the client
 * or log: it never holds a stack trace and quotes at most a few dozen characters of input.
 */
public final class AipDecodeException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why a frame was refused; {@link #label()} is the metrics tag. */
  public enum Reason {
    /** Nothing but whitespace. */
    EMPTY,
    /** Not JSON at all, or broken JSON. */
    MALFORMED_JSON,
    /** JSON, but not an object. */
    NOT_AN_OBJECT,
    /** Bytes that are not UTF-8. */
    INVALID_UTF8,
    /** A required field is missing or null. */
    MISSING_FIELD,
    /** An enum field holds a value AIP does not define. */
    UNKNOWN_ENUM,
    /** A field holds the wrong JSON type. */
    WRONG_TYPE,
    /** Objects or arrays nested deeper than the configured limit. */
    TOO_DEEP,
    /** A string, number or name longer than the parser allows. */
    TOO_LARGE,
    /** More JSON tokens (values, names, brackets) in one frame than the configured limit. */
    TOO_MANY_TOKENS,
    /** Something after the closing brace. */
    TRAILING_DATA;

    /** Lower-case label, e.g. {@code wrong_type}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Reason reason;

  /** Creates an exception with a reason and a short, already sanitised message. */
  public AipDecodeException(Reason reason, String message) {
    // No stack trace: bad frames are routine input, and floods of them must stay cheap.
    super(message, null, false, false);
    this.reason = reason;
  }

  /** The category of the failure. */
  public Reason reason() {
    return reason;
  }
}
