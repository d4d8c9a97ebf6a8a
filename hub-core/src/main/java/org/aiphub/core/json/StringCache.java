package org.aiphub.core.json;

/**
 * Shares equal short strings among parsed JSON values. Thousands of devices report the same
 * platform, feature and tag names; keeping one instance of each saves about a kilobyte per device.
 * A fixed direct-mapped table: a miss just replaces the slot, so memory stays bounded whatever
 * clients send, and no lock is needed (a reference write is atomic, and a lost update only costs a
 * missed share).
 */
final class StringCache {
  private static final int MAX_LENGTH = 48;
  private static final int SLOTS = 8192; // power of two
  private static final String[] TABLE = new String[SLOTS];

  private StringCache() {}

  /** An equal, possibly shared, instance of {@code s}. */
  static String share(String s) {
    if (s.length() > MAX_LENGTH) {
      return s;
    }
    int h = s.hashCode();
    int slot = (h ^ (h >>> 16)) & (SLOTS - 1);
    String cached = TABLE[slot];
    if (cached != null && cached.equals(s)) {
      return cached;
    }
    TABLE[slot] = s;
    return s;
  }
}
