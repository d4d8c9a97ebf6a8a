package org.aiphub.core.registry;

import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An immutable, insertion-ordered set of session ids. Writers build a new instance (copy on write,
 * O(size)); readers share instances without copying or locking.
 */
final class SessionIds extends AbstractSet<String> {
  static final SessionIds EMPTY = new SessionIds(new String[0]);

  private final String[] ids;

  private SessionIds(String[] ids) {
    this.ids = ids;
  }

  SessionIds with(String id) {
    if (contains(id)) {
      return this;
    }
    String[] next = Arrays.copyOf(ids, ids.length + 1);
    next[ids.length] = id;
    return new SessionIds(next);
  }

  SessionIds without(String id) {
    int at = indexOf(id);
    if (at < 0) {
      return this;
    }
    if (ids.length == 1) {
      return EMPTY;
    }
    String[] next = new String[ids.length - 1];
    System.arraycopy(ids, 0, next, 0, at);
    System.arraycopy(ids, at + 1, next, at, ids.length - at - 1);
    return new SessionIds(next);
  }

  private int indexOf(Object id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i].equals(id)) {
        return i;
      }
    }
    return -1;
  }

  @Override
  public boolean contains(Object o) {
    return indexOf(o) >= 0;
  }

  @Override
  public int size() {
    return ids.length;
  }

  @Override
  public Iterator<String> iterator() {
    return new Iterator<>() {
      private int next;

      @Override
      public boolean hasNext() {
        return next < ids.length;
      }

      @Override
      public String next() {
        if (next >= ids.length) {
          throw new NoSuchElementException();
        }
        return ids[next++];
      }
    };
  }
}
