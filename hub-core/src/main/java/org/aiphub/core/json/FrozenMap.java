package org.aiphub.core.json;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Read-only, insertion-ordered JSON object. Only {@link JsonValues} creates instances. */
final class FrozenMap extends AbstractMap<String, Object> {
  static final FrozenMap EMPTY = new FrozenMap(new LinkedHashMap<>());

  private final LinkedHashMap<String, Object> delegate;
  private final Set<Entry<String, Object>> entries;

  /** Takes ownership of {@code delegate}: the caller must not keep a reference to it. */
  FrozenMap(LinkedHashMap<String, Object> delegate) {
    this.delegate = delegate;
    this.entries = Collections.unmodifiableMap(delegate).entrySet();
  }

  @Override
  public Set<Entry<String, Object>> entrySet() {
    return entries;
  }

  @Override
  public int size() {
    return delegate.size();
  }

  @Override
  public Object get(Object key) {
    return delegate.get(key);
  }

  @Override
  public boolean containsKey(Object key) {
    return delegate.containsKey(key);
  }

  /** A mutable copy, for code that derives a new object from this one. */
  LinkedHashMap<String, Object> mutableCopy() {
    return new LinkedHashMap<>(delegate);
  }

  static Map<String, Object> wrap(LinkedHashMap<String, Object> owned) {
    return owned.isEmpty() ? EMPTY : new FrozenMap(owned);
  }
}
