package org.aiphub.core.json;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * Read-only JSON array (nulls allowed) in an exact-size array. Only {@link JsonValues} creates
 * instances.
 */
final class FrozenList extends AbstractList<Object> implements RandomAccess {
  static final FrozenList EMPTY = new FrozenList(new Object[0]);

  private final Object[] elements;

  private FrozenList(Object[] elements) {
    this.elements = elements;
  }

  @Override
  public Object get(int index) {
    return elements[index];
  }

  @Override
  public int size() {
    return elements.length;
  }

  /** Freezes a list of already-frozen values (the list itself is only read). */
  static FrozenList wrap(List<Object> source) {
    return source.isEmpty() ? EMPTY : new FrozenList(source.toArray());
  }
}
