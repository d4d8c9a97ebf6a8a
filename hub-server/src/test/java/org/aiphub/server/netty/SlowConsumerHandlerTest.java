package org.aiphub.server.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SlowConsumerHandlerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final CloseRequest SLOW =
      new CloseRequest(CloseCodes.POLICY_VIOLATION, "slow consumer", true);

  private final RecordingConnectionEvents events = new RecordingConnectionEvents();
  private final UserEventRecorder recorder = new UserEventRecorder(false);

  private EmbeddedChannel channel(long maxPendingBytes) {
    EmbeddedChannel ch =
        new EmbeddedChannel(new SlowConsumerHandler(TIMEOUT, maxPendingBytes, events), recorder);
    ch.freezeTime();
    // writable up to 1 KiB queued, unwritable above 2 KiB
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1024, 2048));
    return ch;
  }

  private static ByteBuf bytes(int n) {
    return Unpooled.buffer(n).writeZero(n);
  }

  private static void advance(EmbeddedChannel ch, Duration d) {
    ch.advanceTimeBy(d.toMillis(), TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
  }

  @Test
  void unwritableForLongerThanTheTimeoutIsClosed() {
    EmbeddedChannel ch = channel(1 << 20);
    ByteBuf queued = bytes(4096);

    ch.write(queued); // queued, never flushed: the peer reads nothing
    assertThat(ch.isWritable()).isFalse();

    advance(ch, TIMEOUT.minusMillis(1));
    assertThat(recorder.closeRequests()).isEmpty();

    advance(ch, Duration.ofMillis(1));
    assertThat(recorder.closeRequests()).containsExactly(SLOW);
    assertThat(events.lines()).containsExactly("slowConsumerClosed");

    assertFalse(ch.finish());
    assertThat(queued.refCnt()).as("the unsent bytes are freed on close").isZero();
  }

  @Test
  void writableAgainInTimeIsNothing() {
    EmbeddedChannel ch = channel(1 << 20);
    ByteBuf queued = bytes(4096);
    ch.write(queued);
    assertThat(ch.isWritable()).isFalse();
    advance(ch, TIMEOUT.minusSeconds(1));

    ch.flush(); // the peer caught up
    assertThat(ch.isWritable()).isTrue();

    advance(ch, TIMEOUT.multipliedBy(3));
    assertThat(recorder.closeRequests()).isEmpty();
    assertThat(events.lines()).isEmpty();
    ByteBuf written = ch.readOutbound();
    assertThat(written).isSameAs(queued);
    written.release();
    assertFalse(ch.finish());
  }

  @Test
  void eachUnwritablePeriodGetsItsOwnTimer() {
    EmbeddedChannel ch = channel(1 << 20);
    ch.write(bytes(4096));
    advance(ch, TIMEOUT.minusSeconds(1));
    ch.flush();
    ((ByteBuf) ch.readOutbound()).release();

    ch.write(bytes(4096)); // unwritable again: the clock starts over
    advance(ch, TIMEOUT.minusSeconds(1));
    assertThat(recorder.closeRequests()).isEmpty();

    advance(ch, Duration.ofSeconds(1));
    assertThat(recorder.closeRequests()).containsExactly(SLOW);
    assertFalse(ch.finish());
  }

  @Test
  void pendingBytesAboveTheHardLimitCloseAtOnce() {
    EmbeddedChannel ch = channel(8 * 1024);
    ByteBuf small = bytes(1000);
    ByteBuf big = bytes(16 * 1024);

    ch.write(small);
    assertThat(recorder.closeRequests()).isEmpty();

    ch.write(big);
    assertThat(recorder.closeRequests()).containsExactly(SLOW);

    ch.write(bytes(100)); // fires once only
    advance(ch, TIMEOUT.multipliedBy(2)); // and the timer was cancelled
    assertThat(recorder.closeRequests()).hasSize(1);
    assertThat(events.lines())
        .containsExactly("slowConsumerClosed", "limitExceeded slow_consumer_max_bytes");

    assertFalse(ch.finish());
    assertThat(small.refCnt()).isZero();
    assertThat(big.refCnt()).isZero();
  }

  @Test
  void aClosedChannelsTimerDoesNotFire() {
    EmbeddedChannel ch = channel(1 << 20);
    ch.write(bytes(4096));

    ch.close();
    advance(ch, TIMEOUT.multipliedBy(2));

    assertThat(recorder.closeRequests()).isEmpty();
    assertFalse(ch.finish());
  }

  @Test
  void writesPassThroughUntouched() {
    EmbeddedChannel ch = channel(1 << 20);
    ByteBuf msg = bytes(10);

    ch.writeAndFlush(msg);

    assertThat(ch.<Object>readOutbound()).isSameAs(msg);
    msg.release();
    assertThat(recorder.events()).isEmpty();
    assertFalse(ch.finish());
  }

  // ------------------------------------------------------------------------------------ HTTP

  private EmbeddedChannel httpChannel(long maxPendingBytes) {
    EmbeddedChannel ch =
        new EmbeddedChannel(
            SlowConsumerHandler.forHttp(TIMEOUT, maxPendingBytes, events), recorder);
    ch.freezeTime();
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1024, 2048));
    return ch;
  }

  @Test
  void anHttpReaderUnwritableForLongerThanTheTimeoutLosesItsConnection() {
    EmbeddedChannel ch = httpChannel(1 << 20);
    ByteBuf queued = bytes(4096);
    ch.write(queued);
    advance(ch, TIMEOUT.minusMillis(1));
    assertThat(ch.isOpen()).isTrue();

    advance(ch, Duration.ofMillis(1));
    assertThat(ch.isOpen()).as("closed: nothing more can reach it").isFalse();
    assertThat(recorder.closeRequests()).as("no WebSocket close frame").isEmpty();
    assertThat(events.lines()).containsExactly("slowConsumerClosed");
    assertFalse(ch.finish());
    assertThat(queued.refCnt()).isZero();
  }

  /**
   * On HTTP one answer may be larger than the hard limit when the client keeps up (its route bounds
   * it); anything queued behind unread data past the limit closes the connection.
   */
  @Test
  void anHttpAnswerMayExceedTheLimitAloneButNothingMayQueueBehindIt() {
    EmbeddedChannel ch = httpChannel(8 * 1024);
    ByteBuf answer = bytes(16 * 1024);
    ch.write(answer);
    assertThat(ch.isOpen()).as("one answer, written while writable").isTrue();
    assertThat(events.lines()).isEmpty();

    ByteBuf more = bytes(100);
    ch.write(more);
    assertThat(ch.isOpen()).isFalse();
    assertThat(events.lines())
        .containsExactly("slowConsumerClosed", "limitExceeded slow_consumer_max_bytes");
    assertFalse(ch.finish());
    assertThat(answer.refCnt()).isZero();
    assertThat(more.refCnt()).isZero();
  }
}
