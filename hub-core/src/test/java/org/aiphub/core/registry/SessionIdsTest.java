package org.aiphub.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionIdsTest {
  @Test
  void withAppendsOnceAndLeavesTheOriginalAlone() {
    SessionIds one = SessionIds.EMPTY.with("b");
    SessionIds two = one.with("a");
    SessionIds same = two.with("b");

    assertThat(SessionIds.EMPTY).isEmpty();
    assertThat(one).containsExactly("b");
    assertThat(two).containsExactly("b", "a");
    assertThat(same).isSameAs(two);
    assertThat(two).hasSize(2).contains("a").doesNotContain("c");
    assertThat(two).isEqualTo(Set.of("a", "b"));
  }

  @Test
  void withoutRemovesOneIdKeepingTheOrderOfTheRest() {
    SessionIds ids = SessionIds.EMPTY.with("a").with("b").with("c").with("d");
    assertThat(ids.without("b")).containsExactly("a", "c", "d");
    assertThat(ids.without("a")).containsExactly("b", "c", "d");
    assertThat(ids.without("d")).containsExactly("a", "b", "c");
    assertThat(ids.without("zz")).isSameAs(ids);
    assertThat(ids).containsExactly("a", "b", "c", "d");
    assertThat(SessionIds.EMPTY.with("x").without("x")).isSameAs(SessionIds.EMPTY);
  }

  @Test
  void itIsReadOnly() {
    SessionIds ids = SessionIds.EMPTY.with("a");
    assertThatThrownBy(() -> ids.add("b")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> ids.remove("a")).isInstanceOf(UnsupportedOperationException.class);
    Iterator<String> it = ids.iterator();
    assertThat(it.next()).isEqualTo("a");
    assertThat(it.hasNext()).isFalse();
    assertThatThrownBy(it::next).isInstanceOf(NoSuchElementException.class);
  }
}
