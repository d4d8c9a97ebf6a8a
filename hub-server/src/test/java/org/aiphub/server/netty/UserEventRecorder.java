package org.aiphub.server.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.ArrayList;
import java.util.List;

/** Records the user events that reach it; passes them on only when asked to. */
final class UserEventRecorder extends ChannelInboundHandlerAdapter {
  private final List<Object> events = new ArrayList<>();
  private final boolean passOn;

  UserEventRecorder(boolean passOn) {
    this.passOn = passOn;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    events.add(evt);
    if (passOn) {
      ctx.fireUserEventTriggered(evt);
    }
  }

  List<Object> events() {
    return new ArrayList<>(events);
  }

  /** The recorded {@link CloseRequest}s. */
  List<CloseRequest> closeRequests() {
    List<CloseRequest> out = new ArrayList<>();
    for (Object e : events) {
      if (e instanceof CloseRequest) {
        out.add((CloseRequest) e);
      }
    }
    return out;
  }
}
