package org.aiphub.core.json;

import java.util.ArrayList;
import java.util.List;

/** Strings that all share one {@code String.hashCode}: blocks of "Aa" and "BB". */
public final class Collisions {
  private Collisions() {}

  /** The first {@code n} strings of {@code blocks} blocks each (n at most 2^blocks). */
  public static List<String> keys(int n, int blocks) {
    return keys(n, blocks, "");
  }

  /**
   * The first {@code n} strings of {@code prefix} then {@code blocks} blocks each. A one-character
   * prefix moves the blocks off the 4-byte boundaries of Jackson's own name hash, whose symbol
   * table would otherwise refuse them as a flood: they then reach the hub's structures.
   */
  public static List<String> keys(int n, int blocks, String prefix) {
    if (n > 1 << blocks) {
      throw new IllegalArgumentException(n + " keys need more than " + blocks + " blocks");
    }
    List<String> out = new ArrayList<>(n);
    StringBuilder b = new StringBuilder(blocks * 2);
    for (int i = 0; i < n; i++) {
      b.setLength(0);
      b.append(prefix);
      for (int bit = blocks - 1; bit >= 0; bit--) {
        b.append((i >>> bit & 1) == 0 ? "Aa" : "BB");
      }
      out.add(b.toString());
    }
    return out;
  }
}
