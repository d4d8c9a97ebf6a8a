package org.aiphub.server.netty;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.server.route.Identity;
import org.aiphub.server.route.Registration;
import org.aiphub.server.route.TaskRouter;

/**
 * One connection's state machine: {@code AWAITING_REGISTER -> REGISTERED -> CLOSED}, with a {@code
 * CLOSING} step in between once either side starts the close handshake.
 *
 * <ul>
 *   <li>AWAITING_REGISTER: the first message must register within the registration timeout;
 *       anything else (a bad frame included) fails the registration: error frame, close 1008. A
 *       registration may take a while (a duplicate's holder is probed, or the client directory
 *       answers its claim later): frames sent meanwhile wait and are answered in order after the
 *       reply.
 *   <li>REGISTERED: messages go to the {@link TaskRouter} with the bound identity; undecodable
 *       frames get an error frame, and a client over its bad-frame budget is closed with 1008.
 *   <li>CLOSING: writes are refused here, on the event loop, so nothing is written after a close
 *       frame and a delivery that did not happen is reported as failed.
 *   <li>CLOSED: the router's disconnect path runs exactly once, from {@code channelInactive}.
 * </ul>
 */
public final class ConnectionHandler extends ChannelDuplexHandler {
  /** The four states of a connection. */
  enum State {
    AWAITING_REGISTER,
    REGISTERED,
    CLOSING,
    CLOSED
  }

  private static final long FORCE_CLOSE_MILLIS = 3_000;

  /**
   * Frames a client may send while its registration is not over yet (its holder is probed, or its
   * claim awaits the directory's answer).
   */
  private static final int MAX_HELD_WHILE_PROBING = 32;

  private final TaskRouter router;
  private final Duration registrationTimeout;
  private final BadFrameBudget badFrames;
  private final ConnectionEvents events;
  private ChannelConnection connection;
  private State state = State.AWAITING_REGISTER;
  private Identity identity;
  private ScheduledFuture<?> registrationTimer;
  private final Duration probeTimeout;
  private ArrayDeque<Object> heldWhileProbing;

  /** A handler for one new channel. */
  public ConnectionHandler(
      TaskRouter router,
      Duration registrationTimeout,
      int badFramesPerMinute,
      ConnectionEvents events) {
    this(router, registrationTimeout, badFramesPerMinute, events, null);
  }

  /**
   * A handler for one new channel that, when a registration collides with an online id, probes the
   * holder for {@code probeTimeout} and replaces it if it stays silent (null: refuse at once).
   */
  public ConnectionHandler(
      TaskRouter router,
      Duration registrationTimeout,
      int badFramesPerMinute,
      ConnectionEvents events,
      Duration probeTimeout) {
    this.probeTimeout = probeTimeout;
    this.router = router;
    this.registrationTimeout = registrationTimeout;
    this.badFrames = new BadFrameBudget(badFramesPerMinute);
    this.events = events;
  }

  State state() {
    return state;
  }

  Identity identity() {
    return identity;
  }

  ChannelConnection connection() {
    return connection;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    connection = new ChannelConnection(ctx.channel());
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
      events.connected(connection.remoteAddress());
      if (state == State.AWAITING_REGISTER) {
        startRegistrationTimer(ctx);
      }
      return;
    }
    if (evt instanceof CloseRequest) {
      CloseRequest r = (CloseRequest) evt;
      close(ctx, r.code(), r.reason(), r.immediate());
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    long received = System.nanoTime();
    try {
      if (msg instanceof CloseWebSocketFrame) {
        answerClose(ctx, (CloseWebSocketFrame) msg);
        return;
      }
      if (state != State.AWAITING_REGISTER && state != State.REGISTERED) {
        return; // closing: the rest of the client's frames no longer matter
      }
      connection.touch();
      if (heldWhileProbing != null) {
        // A contested registration is still being probed: keep order, answer afterwards.
        if (heldWhileProbing.size() >= MAX_HELD_WHILE_PROBING) {
          close(ctx, CloseCodes.POLICY_VIOLATION, "too many frames before registration", false);
        } else {
          heldWhileProbing.add(msg);
        }
        return;
      }
      dispatch(ctx, msg, received);
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void dispatch(ChannelHandlerContext ctx, Object msg, long received) {
    if (msg instanceof FrameRejected) {
      rejected(ctx, (FrameRejected) msg, received);
    } else if (msg instanceof ClientMessage) {
      ClientMessage m = (ClientMessage) msg;
      events.messageIn(m.type());
      if (state == State.AWAITING_REGISTER) {
        register(ctx, m);
      } else if (state == State.REGISTERED) {
        router.handle(connection, identity, m, received);
      }
    }
  }

  private void register(ChannelHandlerContext ctx, ClientMessage m) {
    cancelRegistrationTimer();
    settle(ctx, m, router.register(connection, m, probeTimeout != null));
  }

  /**
   * Applies what became of the registration. A contested one (the holder is probed) or a pending
   * one (the directory has not answered its claim yet) is not over: frames that arrive meanwhile
   * are held, and answered in order once the client is registered.
   */
  private void settle(ChannelHandlerContext ctx, ClientMessage m, Registration r) {
    if (r instanceof Registration.Contested) {
      holdFrames();
      probeHolder(ctx, m, (Registration.Contested) r);
      return;
    }
    if (r instanceof Registration.Pending) {
      holdFrames();
      awaitClaim(ctx, m, (Registration.Pending) r);
      return;
    }
    if (r instanceof Registration.Registered) {
      identity = ((Registration.Registered) r).identity();
      state = State.REGISTERED;
    } else {
      close(ctx, CloseCodes.POLICY_VIOLATION, "registration failed", false);
    }
    ArrayDeque<Object> held = heldWhileProbing;
    heldWhileProbing = null;
    if (held != null) {
      long now = System.nanoTime();
      for (Object next : held) {
        if (state == State.REGISTERED) {
          dispatch(ctx, next, now);
        }
      }
    }
  }

  private void holdFrames() {
    if (heldWhileProbing == null) {
      heldWhileProbing = new ArrayDeque<>();
    }
  }

  /**
   * The id is held: a half-open holder must not lock its device out until an idle timeout, so ping
   * it; a live one keeps its place, a silent one is replaced by this connection.
   */
  private void probeHolder(ChannelHandlerContext ctx, ClientMessage m, Registration.Contested c) {
    c.holder()
        .connection()
        .probe(probeTimeout)
        .whenComplete(
            (alive, error) ->
                ctx.executor()
                    .execute(
                        () -> {
                          if (state != State.AWAITING_REGISTER) {
                            heldWhileProbing = null;
                            return; // closed meanwhile
                          }
                          if (Boolean.TRUE.equals(alive)) {
                            settle(ctx, m, router.refuseDuplicate(connection, c));
                            return;
                          }
                          router.replaceDead(c);
                          settle(ctx, m, router.register(connection, m, false));
                        }));
  }

  /**
   * The directory has not answered the claim yet: wait for it on this channel's event loop, for at
   * most another registration timeout (a directory must answer in bounded time; this bounds what a
   * connection waits even if one does not).
   */
  private void awaitClaim(ChannelHandlerContext ctx, ClientMessage m, Registration.Pending p) {
    startRegistrationTimer(ctx);
    p.settled()
        .whenComplete(
            (v, error) ->
                ctx.executor()
                    .execute(
                        () -> {
                          if (state != State.AWAITING_REGISTER) {
                            heldWhileProbing = null;
                            router.abandon(connection, p);
                            return; // closed meanwhile (or timed out)
                          }
                          cancelRegistrationTimer();
                          settle(ctx, m, router.resume(connection, p));
                        }));
  }

  private void rejected(ChannelHandlerContext ctx, FrameRejected bad, long now) {
    events.frameRejected(bad.reason().reason().label());
    if (state == State.AWAITING_REGISTER) {
      cancelRegistrationTimer();
      connection.send(router.messages().error("registration failed: " + bad.reason().getMessage()));
      events.registrationRefused("bad_frame");
      close(ctx, CloseCodes.POLICY_VIOLATION, "registration failed", false);
      return;
    }
    connection.send(router.messages().error(bad.reason().getMessage()));
    if (!badFrames.record(now)) {
      events.tooManyBadFrames();
      close(ctx, CloseCodes.POLICY_VIOLATION, "too many bad frames", false);
    }
  }

  /** The client started the close handshake: stop writing, echo its close, then close. */
  private void answerClose(ChannelHandlerContext ctx, CloseWebSocketFrame frame) {
    if (state == State.CLOSING || state == State.CLOSED) {
      return;
    }
    beginClosing();
    int code = frame.statusCode();
    CloseWebSocketFrame echo;
    if (code < 0) {
      echo = new CloseWebSocketFrame();
    } else if (validCloseCode(code)) {
      echo = new CloseWebSocketFrame(code, null);
    } else {
      // RFC 6455 7.4: a code outside the valid ranges (e.g. 5000) is a protocol error.
      echo = new CloseWebSocketFrame(WebSocketCloseStatus.PROTOCOL_ERROR.code(), null);
    }
    ctx.writeAndFlush(echo).addListener(ChannelFutureListener.CLOSE);
    // A peer that stopped reading after its close may never let the echo out either.
    forceCloseLater(ctx);
  }

  /**
   * RFC 6455 section 7.4: the defined codes 1000-1003 and 1007-1014, and 3000-4999 for libraries
   * and applications. (Netty's own check accepts anything from 3000 up.)
   */
  static boolean validCloseCode(int code) {
    return (code >= 1000 && code <= 1003)
        || (code >= 1007 && code <= 1014)
        || (code >= 3000 && code <= 4999);
  }

  /** Starts a hub-side close with a close frame; {@code immediate} does not wait for it. */
  private void close(ChannelHandlerContext ctx, int code, String reason, boolean immediate) {
    if (state == State.CLOSING || state == State.CLOSED) {
      return;
    }
    beginClosing();
    if (immediate) {
      ctx.writeAndFlush(new CloseWebSocketFrame(code, reason));
      ctx.close();
      return;
    }
    ctx.writeAndFlush(new CloseWebSocketFrame(code, reason))
        .addListener(ChannelFutureListener.CLOSE);
    // A peer that does not read may never let the close frame out.
    forceCloseLater(ctx);
  }

  private static void forceCloseLater(ChannelHandlerContext ctx) {
    ctx.executor()
        .schedule(
            () -> {
              if (ctx.channel().isOpen()) {
                ctx.close();
              }
            },
            FORCE_CLOSE_MILLIS,
            TimeUnit.MILLISECONDS);
  }

  private void beginClosing() {
    state = State.CLOSING;
    connection.markClosing();
    cancelRegistrationTimer();
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (state == State.CLOSING || state == State.CLOSED) {
      ReferenceCountUtil.release(msg);
      promise.tryFailure(ConnectionClosingException.INSTANCE);
      return;
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    boolean wasRegistered = identity != null && state != State.CLOSED;
    state = State.CLOSED;
    connection.markClosing();
    cancelRegistrationTimer();
    if (wasRegistered) {
      router.disconnected(connection, identity);
    }
    events.closed(connection.remoteAddress(), identity == null ? null : identity.clientId());
    super.channelInactive(ctx);
  }

  /** Closes the connection with 1008 unless it registered within the registration timeout. */
  private void startRegistrationTimer(ChannelHandlerContext ctx) {
    registrationTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (state == State.AWAITING_REGISTER) {
                    events.registrationTimedOut();
                    close(ctx, CloseCodes.POLICY_VIOLATION, "registration timeout", false);
                  }
                },
                registrationTimeout.toMillis(),
                TimeUnit.MILLISECONDS);
  }

  private void cancelRegistrationTimer() {
    if (registrationTimer != null) {
      registrationTimer.cancel(false);
      registrationTimer = null;
    }
  }
}
