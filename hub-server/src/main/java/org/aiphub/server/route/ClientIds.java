package org.aiphub.server.route;

import java.util.List;
import java.util.Locale;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.registry.IdFolds;
import org.aiphub.core.registry.LookAlikeClientException;

/**
 * The id rule: what a client id, session id or declared target id may hold, the one form it is
 * stored and compared in, and which different ids are too alike to be online at once (README,
 * "Protocol behaviour"; docs/PROTOCOL.md, "Handshake").
 *
 * <ul>
 *   <li><b>Default ({@link #ascii()}):</b> 1 to 256 of {@code A-Z a-z 0-9} and {@code . _ - : @ / +
 *       = # ~}. Ids are compared exactly (case-sensitively), but an id that differs only in letter
 *       case from another online id, or from an id the device config protects with a {@code
 *       token_sha256}, is refused: {@code DEVICE_WINDOWS_001} cannot stand beside {@code
 *       device_windows_001}. The stored form is the id as sent.
 *   <li><b>{@code unicode_ids: true} ({@link #unicode()}):</b> letters, combining marks and decimal
 *       digits of any script as well, within Unicode's recommended identifier characters (UTS 39),
 *       normalised to NFC, which is the stored form; see {@link UnicodeIds} for what is refused
 *       (invisible and bidi characters, mixed scripts and directions, mixed digit systems) and for
 *       the confusable rule that replaces the case rule.
 * </ul>
 *
 * <p>Every id a client sends goes through {@link #canonical} once, where it enters the hub ({@link
 * #canonical(ClientMessage)} for frames, the HTTP routes for theirs): registry, sessions, logs and
 * API answers only ever see the stored form. {@link #problem} refuses an id that is not in that
 * form, so a path that forgot to canonicalise fails closed. Instances are immutable and
 * thread-safe; they are also the registry's {@link IdFolds}.
 */
public final class ClientIds implements IdFolds {
  /** Longest accepted id, in UTF-16 units of its stored form. */
  public static final int MAX_LENGTH = 256;

  /** The punctuation an id may hold besides letters and digits. */
  public static final String PUNCTUATION = "._-:@/+=#~";

  private static final ClientIds ASCII = new ClientIds(null);

  private final UnicodeIds unicode;

  private ClientIds(UnicodeIds unicode) {
    this.unicode = unicode;
  }

  /** The default rule: ASCII ids, refused when they collide case-insensitively. */
  public static ClientIds ascii() {
    return ASCII;
  }

  /** The {@code unicode_ids: true} rule (loads ICU's data on first use). */
  public static ClientIds unicode() {
    return UnicodeHolder.UNICODE;
  }

  /** The rule {@code unicode_ids} selects. */
  public static ClientIds of(boolean unicodeIds) {
    return unicodeIds ? unicode() : ascii();
  }

  private static final class UnicodeHolder {
    static final ClientIds UNICODE = new ClientIds(new UnicodeIds());
  }

  /** Whether ids may hold non-ASCII letters and digits ({@code unicode_ids}). */
  public boolean allowsUnicode() {
    return unicode != null;
  }

  /**
   * The stored form of an id as a client sent it: the same string under the default rule; its NFC
   * form under {@code unicode_ids}. {@code null} stays {@code null}. Whether the id is acceptable
   * at all is {@link #problem}'s to say, on the result.
   */
  public String canonical(String raw) {
    return unicode == null || raw == null ? raw : unicode.canonical(raw);
  }

  /**
   * {@code m} with its id fields ({@code client_id}, {@code target_id}, {@code session_id}) in
   * their stored form: {@code m} itself when nothing changes (always, under the default rule).
   */
  public ClientMessage canonical(ClientMessage m) {
    if (unicode == null) {
      return m;
    }
    String clientId = canonical(m.clientId());
    String targetId = canonical(m.targetId());
    String sessionId = canonical(m.sessionId());
    if (same(clientId, m.clientId())
        && same(targetId, m.targetId())
        && same(sessionId, m.sessionId())) {
      return m;
    }
    return new ClientMessage(
        m.type(),
        m.status(),
        m.clientType(),
        sessionId,
        m.taskName(),
        clientId,
        targetId,
        m.request(),
        m.actionResults(),
        m.timestamp(),
        m.requestId(),
        m.prevResponseId(),
        m.error(),
        m.metadata(),
        m.result());
  }

  private static boolean same(String a, String b) {
    return a == b; // canonical() returns its argument when it changes nothing
  }

  /**
   * Why {@code id} (in its stored form, see {@link #canonical}) is not acceptable, naming it as
   * {@code what}, or {@code null} if it is.
   */
  public String problem(String what, String id) {
    if (id == null || id.isEmpty()) {
      return what + " must be a non-empty string";
    }
    if (id.length() > MAX_LENGTH) {
      return what + " is longer than " + MAX_LENGTH + " characters";
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!isAsciiIdChar(c)) {
        if (unicode != null && c >= 0x80) {
          return unicode.problem(what, id);
        }
        return outside(what, id, i)
            + (c >= 0x80 ? " (ids are ASCII unless unicode_ids is on)" : "");
      }
    }
    return null;
  }

  /**
   * The fold keys of a stored id ({@link IdFolds}): its lower-case form under the default rule;
   * under {@code unicode_ids}, its case-folded confusable skeletons.
   */
  @Override
  public List<String> keys(String id) {
    return unicode == null ? List.of(id.toLowerCase(Locale.ROOT)) : unicode.keys(id);
  }

  /** The refusal sent to a client whose id collided with another ({@link #keys}). */
  public String lookAlikeReason(LookAlikeClientException e) {
    String other =
        e.reserved()
            ? "a client id that has its own credential in the device config"
            : "the online client id " + Text.quote(e.similarTo());
    return "client_id "
        + Text.quote(e.clientId())
        + (unicode == null
            ? " differs only in letter case from " + other
            : " is confusable with " + other + " (Unicode UTS 39 skeleton, ignoring case)")
        + "; look-alike ids are refused";
  }

  /** The refusal of an id for the character at {@code i}. */
  static String outside(String what, String id, int i) {
    return what
        + " "
        + Text.quote(id)
        + " holds a character outside letters, digits and "
        + PUNCTUATION
        + ": "
        + codePoint(id, i);
  }

  static boolean isAsciiIdChar(int c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || (c < 0x80 && PUNCTUATION.indexOf(c) >= 0);
  }

  /** {@code U+XXXX} of the code point at {@code i}. */
  static String codePoint(String s, int i) {
    return String.format(Locale.ROOT, "U+%04X", s.codePointAt(i));
  }
}
