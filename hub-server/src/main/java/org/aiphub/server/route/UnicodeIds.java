package org.aiphub.server.route;

import com.ibm.icu.lang.UCharacter;
import com.ibm.icu.lang.UCharacterCategory;
import com.ibm.icu.lang.UCharacterDirection;
import com.ibm.icu.lang.UProperty;
import com.ibm.icu.text.Normalizer2;
import com.ibm.icu.text.SpoofChecker;
import com.ibm.icu.text.UnicodeSet;
import java.util.List;

/**
 * The {@code unicode_ids: true} id rule, on ICU4J (Unicode UTS 39, "Unicode Security Mechanisms").
 * A non-ASCII id is normalised to NFC (its stored form), then refused when it holds:
 *
 * <ul>
 *   <li>anything but letters, combining marks, decimal digits and {@code . _ - : @ / + = # ~};
 *   <li>default-ignorable, bidi-control or join-control characters (invisible: zero-width spaces
 *       and joiners, the Hangul fillers U+3164 and U+FFA0, direction overrides);
 *   <li>characters outside UTS 39's recommended identifier set: compatibility, technical and
 *       obsolete forms such as full-width, mathematical or small-capital letters;
 *   <li>scripts mixed beyond UTS 39's moderately restrictive level: Latin may go with one other
 *       script, but not with Cyrillic or Greek (so {@code weekly@device_windows_001} may take a
 *       Japanese, Korean, Thai... task name); Han, Hiragana and Katakana count as one;
 *   <li>digits of more than one number system;
 *   <li>left-to-right letters together with right-to-left letters or Arabic digits: bidi display
 *       reorders such an id, which can hide a prefix or suffix;
 *   <li>invisible combining-mark tricks ICU detects (repeated marks, hidden overlays).
 * </ul>
 *
 * Two different ids collide when one of their keys is equal: the UTS 39 skeleton of the id, and the
 * skeleton of its case-folded form, each case-folded. So Cyrillic {@code о}, Greek {@code ο},
 * {@code 0} and {@code O} count as {@code o}, {@code 1} and {@code I} as {@code l}, {@code rn} as
 * {@code m}, and letter case never tells two ids apart. The ICU objects are immutable and
 * thread-safe.
 */
final class UnicodeIds {
  private static final Normalizer2 NFC = Normalizer2.getNFCInstance();
  private static final Normalizer2 NFD = Normalizer2.getNFDInstance();

  /** Longer raw input is not normalised: it is refused for its length anyway. */
  private static final int MAX_RAW = 4 * ClientIds.MAX_LENGTH;

  private final UnicodeSet allowed =
      new UnicodeSet(SpoofChecker.RECOMMENDED).addAll(ClientIds.PUNCTUATION).freeze();

  private final SpoofChecker checker =
      new SpoofChecker.Builder()
          .setChecks(
              SpoofChecker.RESTRICTION_LEVEL
                  | SpoofChecker.CHAR_LIMIT
                  | SpoofChecker.MIXED_NUMBERS
                  | SpoofChecker.HIDDEN_OVERLAY)
          .setRestrictionLevel(SpoofChecker.RestrictionLevel.MODERATELY_RESTRICTIVE)
          .setAllowedChars(allowed)
          .build();

  // ICU looks for a repeated mark in the string as given: "a" + U+0301 twice is NFC U+00E1 +
  // U+0301, which only the NFD form shows.
  private final SpoofChecker invisible =
      new SpoofChecker.Builder().setChecks(SpoofChecker.INVISIBLE).build();

  private final SpoofChecker skeletons = new SpoofChecker.Builder().build();

  String canonical(String raw) {
    if (raw.length() > MAX_RAW || isAscii(raw) || NFC.isNormalized(raw)) {
      return raw;
    }
    return NFC.normalize(raw);
  }

  /** Why a non-ASCII id of acceptable length is refused, or {@code null}. */
  String problem(String what, String id) {
    String quoted = what + " " + Text.quote(id);
    if (!NFC.isNormalized(id)) {
      return quoted + " is not in Unicode normal form C";
    }
    boolean ltr = false;
    boolean rtl = false;
    for (int i = 0; i < id.length(); ) {
      int cp = id.codePointAt(i);
      if (UCharacter.hasBinaryProperty(cp, UProperty.DEFAULT_IGNORABLE_CODE_POINT)
          || UCharacter.hasBinaryProperty(cp, UProperty.BIDI_CONTROL)
          || UCharacter.hasBinaryProperty(cp, UProperty.JOIN_CONTROL)) {
        return quoted
            + " holds an invisible or formatting character: "
            + ClientIds.codePoint(id, i);
      }
      if (!ClientIds.isAsciiIdChar(cp) && !letterMarkOrDigit(cp)) {
        return ClientIds.outside(what, id, i);
      }
      if (!allowed.contains(cp)) {
        return quoted
            + " holds a character that is not a recommended identifier character: "
            + ClientIds.codePoint(id, i)
            + " (Unicode UTS 39: full-width, mathematical, small-capital and other"
            + " compatibility forms are refused)";
      }
      int dir = UCharacter.getDirection(cp);
      ltr |= dir == UCharacterDirection.LEFT_TO_RIGHT;
      rtl |=
          dir == UCharacterDirection.RIGHT_TO_LEFT
              || dir == UCharacterDirection.RIGHT_TO_LEFT_ARABIC
              || dir == UCharacterDirection.ARABIC_NUMBER;
      i += Character.charCount(cp);
    }
    if (ltr && rtl) {
      return quoted + " mixes left-to-right and right-to-left characters, which display reordered";
    }
    if (invisible.failsChecks(NFD.normalize(id))) {
      return quoted + " holds combining marks that render invisibly";
    }
    SpoofChecker.CheckResult result = new SpoofChecker.CheckResult();
    if (!checker.failsChecks(id, result)) {
      return null;
    }
    if ((result.checks & SpoofChecker.RESTRICTION_LEVEL) != 0) {
      return quoted
          + " mixes scripts (Latin may go with one other script, but not with Cyrillic or"
          + " Greek)";
    }
    if ((result.checks & SpoofChecker.MIXED_NUMBERS) != 0) {
      return quoted + " mixes digits of different number systems";
    }
    if ((result.checks & SpoofChecker.CHAR_LIMIT) != 0) {
      return quoted + " holds a character that is not a recommended identifier character";
    }
    return quoted + " holds combining marks that render invisibly";
  }

  /** The case-folded skeletons of the id and of its case-folded form (one key when equal). */
  List<String> keys(String id) {
    String folded = UCharacter.foldCase(id, true);
    String k1 = UCharacter.foldCase(skeletons.getSkeleton(folded), true);
    String k2 = UCharacter.foldCase(skeletons.getSkeleton(id), true);
    return k1.equals(k2) ? List.of(k1) : List.of(k1, k2);
  }

  private static boolean letterMarkOrDigit(int cp) {
    switch (UCharacter.getType(cp)) {
      case UCharacterCategory.UPPERCASE_LETTER:
      case UCharacterCategory.LOWERCASE_LETTER:
      case UCharacterCategory.TITLECASE_LETTER:
      case UCharacterCategory.MODIFIER_LETTER:
      case UCharacterCategory.OTHER_LETTER:
      case UCharacterCategory.NON_SPACING_MARK:
      case UCharacterCategory.COMBINING_SPACING_MARK:
      case UCharacterCategory.ENCLOSING_MARK:
      case UCharacterCategory.DECIMAL_DIGIT_NUMBER:
        return true;
      default:
        return false;
    }
  }

  private static boolean isAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }
}
