package org.aiphub.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.internal.OutOfDirectMemoryError;
import java.lang.reflect.Constructor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.aiphub.server.netty.ExceptionHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The in-code half of "exit on OutOfMemoryError" (the other half is the JVM flag in hub.sh): which
 * errors are fatal, and that the pipelines' last handler and the guarded timers act on them. What
 * the action is in a real process (halt with 3) is tested in a child JVM by {@code
 * OutOfMemoryExitTest}.
 */
class FatalErrorsTest {
  private final List<Throwable> fatal = new ArrayList<>();
  private final Consumer<Throwable> previous = FatalErrors.onFatal(fatal::add);

  @AfterEach
  void restore() {
    FatalErrors.onFatal(previous);
  }

  @Test
  void outOfMemoryErrorsAreFatalWhereverTheyAreInTheCauseChain() {
    OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
    assertThat(FatalErrors.isFatal(oom)).isTrue();
    assertThat(FatalErrors.isFatal(new DecoderException(oom))).isTrue();
    assertThat(FatalErrors.isFatal(new RuntimeException(new DecoderException(oom)))).isTrue();
    assertThat(FatalErrors.isFatal(new StackOverflowError())).isFalse();
    assertThat(FatalErrors.isFatal(new IllegalStateException("bug"))).isFalse();
    assertThat(FatalErrors.isFatal(null)).isFalse();
    assertThat(fatal).isEmpty();
  }

  @Test
  void runningOutOfDirectMemoryIsNotFatal() throws ReflectiveOperationException {
    // Netty's buffers live there; the paths that allocate them free what they hold and answer 503
    // or drop one client, so the process must not exit (the JVM flag does not fire for it either).
    Constructor<OutOfDirectMemoryError> nettys =
        OutOfDirectMemoryError.class.getDeclaredConstructor(String.class);
    nettys.setAccessible(true); // Netty makes it only in its allocator
    assertThat(FatalErrors.isFatal(nettys.newInstance("failed to allocate 16777216 byte(s)")))
        .isFalse();
    assertThat(
            FatalErrors.isFatal(new DecoderException(new OutOfMemoryError("Direct buffer memory"))))
        .isFalse();
    assertThat(FatalErrors.check(new OutOfMemoryError("Direct buffer memory"))).isFalse();
    assertThat(fatal).isEmpty();
  }

  @Test
  void theLastHandlerOfAPipelineActsOnAnOutOfMemoryError() {
    EmbeddedChannel ch = new EmbeddedChannel(new ExceptionHandler());
    OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
    ch.pipeline().fireExceptionCaught(new DecoderException(oom));
    assertThat(fatal).hasSize(1);
    assertThat(FatalErrors.isFatal(fatal.get(0))).isTrue();
    assertThat(ch.isOpen()).as("an embedded hub at least drops the socket").isFalse();

    EmbeddedChannel other = new EmbeddedChannel(new ExceptionHandler());
    other.pipeline().fireExceptionCaught(new java.io.IOException("reset"));
    assertThat(fatal).hasSize(1);
  }

  @Test
  void aGuardedTaskActsOnAnOutOfMemoryErrorAndRethrowsIt() {
    OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
    Runnable guarded =
        FatalErrors.guard(
            () -> {
              throw oom;
            });
    assertThatThrownBy(guarded::run).isSameAs(oom);
    assertThat(fatal).containsExactly(oom);

    IllegalStateException bug = new IllegalStateException("bug");
    assertThatThrownBy(
            FatalErrors.guard(
                    () -> {
                      throw bug;
                    })
                ::run)
        .isSameAs(bug);
    assertThat(fatal).containsExactly(oom);
  }

  @Test
  void withoutAnActionCheckOnlyReports() {
    FatalErrors.onFatal(null);
    assertThat(FatalErrors.check(new OutOfMemoryError())).isTrue();
    assertThat(FatalErrors.check(new RuntimeException())).isFalse();
  }
}
