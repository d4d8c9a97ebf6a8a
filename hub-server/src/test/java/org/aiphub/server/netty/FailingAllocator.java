package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * An allocator that runs out: its buffers refuse to grow past {@code limit} bytes with an {@link
 * OutOfMemoryError}, as a pooled allocator does (with {@code OutOfDirectMemoryError}) when direct
 * memory is exhausted. It keeps every buffer it handed out, so a test can check that each was
 * released whatever failed.
 */
final class FailingAllocator extends AbstractByteBufAllocator {
  private final int limit;
  private final List<ByteBuf> allocated = new ArrayList<>();

  /** Buffers that cannot hold more than {@code limit} bytes. */
  FailingAllocator(int limit) {
    super(false);
    this.limit = limit;
  }

  @Override
  protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
    return track(initialCapacity, maxCapacity);
  }

  @Override
  protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
    return track(initialCapacity, maxCapacity);
  }

  private synchronized ByteBuf track(int initialCapacity, int maxCapacity) {
    if (initialCapacity > limit) {
      throw new OutOfMemoryError("test allocator: no memory for " + initialCapacity + " bytes");
    }
    ByteBuf b = new Limited(this, initialCapacity, maxCapacity, limit);
    allocated.add(b);
    return b;
  }

  @Override
  public boolean isDirectBufferPooled() {
    return false;
  }

  /** How many buffers were handed out. */
  synchronized int handedOut() {
    return allocated.size();
  }

  /** Every buffer handed out was released. */
  synchronized void assertAllReleased() {
    for (ByteBuf b : allocated) {
      assertThat(b.refCnt()).as("reference count of %s", b).isZero();
    }
  }

  /** A heap buffer that fails to grow past the limit, as a pooled one without memory does. */
  private static final class Limited extends UnpooledHeapByteBuf {
    private final int limit;

    Limited(FailingAllocator alloc, int initialCapacity, int maxCapacity, int limit) {
      super(alloc, initialCapacity, maxCapacity);
      this.limit = limit;
    }

    @Override
    public ByteBuf capacity(int newCapacity) {
      if (newCapacity > limit) {
        throw new OutOfMemoryError("test allocator: no memory for " + newCapacity + " bytes");
      }
      return super.capacity(newCapacity);
    }
  }
}
