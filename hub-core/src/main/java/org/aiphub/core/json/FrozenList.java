package org.aiphub.core.json;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.RandomAccess;

/** Read-only JSON array that may hold nulls. Only {@link JsonValues} creates instances. */
final class FrozenList extends AbstractList<Object> implements RandomAccess {
  static final FrozenList EMPTY = new FrozenList(new ArrayList<>(0));

  private final ArrayList<Object> delegate;

  /** Takes ownership of {@code delegate}: the caller must not keep a reference to it. */
  FrozenList(ArrayList<Object> delegate) {
    this.delegate = delegate;
  }

  @Override
  public Object get(int index) {
    return delegate.get(index);
  }

  @Override
  public int size() {
    return delegate.size();
  }

  static FrozenList wrap(ArrayList<Object> owned) {
    return owned.isEmpty() ? EMPTY : new FrozenList(owned);
  }
}
