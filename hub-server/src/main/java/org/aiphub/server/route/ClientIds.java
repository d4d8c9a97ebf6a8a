package org.aiphub.server.route;

/**
 * The characters a client id or session id may hold: letters and digits (any script) and {@code . _
 * - : @ / + = # ~}, 1 to 256 of them. Everything else (spaces, quotes, control characters,
 * newlines) is refused, so ids are safe in logs, URLs, headers and the dashboard as they are.
 */
public final class ClientIds {
  /** Longest accepted id. */
  public static final int MAX_LENGTH = 256;

  private static final String PUNCTUATION = "._-:@/+=#~";

  private ClientIds() {}

  /** Why {@code id} is not acceptable (naming it as {@code what}), or {@code null} if it is. */
  public static String problem(String what, String id) {
    if (id == null || id.isEmpty()) {
      return what + " must be a non-empty string";
    }
    if (id.length() > MAX_LENGTH) {
      return what + " is longer than " + MAX_LENGTH + " characters";
    }
    for (int i = 0; i < id.length(); ) {
      int cp = id.codePointAt(i);
      if (!Character.isLetterOrDigit(cp) && PUNCTUATION.indexOf(cp) < 0) {
        return what
            + " "
            + Text.quote(id)
            + " holds a character outside letters, digits and "
            + PUNCTUATION;
      }
      i += Character.charCount(cp);
    }
    return null;
  }
}
