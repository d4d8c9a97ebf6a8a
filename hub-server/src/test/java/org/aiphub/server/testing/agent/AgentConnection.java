package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One socket of the stand-in, after the upgrade: the reference handler's {@code connect} (first
 * frame must register), its read loop ({@code handle_message}: identity pinning, dispatch) and its
 * disconnect. Also the transport's keepalive (uvicorn: a ping every 20 s, 1011 when no pong in 20
 * s). Runs on the server's single event loop.
 */
final class AgentConnection extends SimpleChannelInboundHandler<WebSocketFrame> {
  private final ReferenceAgentServer server;
  private final int number;
  private Channel channel;
  private String clientId;
  private String clientType;
  private String targetId;
  private String platform;
  private JsonNode systemInfo;
  private boolean closing;
  private String closeNote = "abort";
  private ScheduledFuture<?> keepalive;
  private int pingsSent;
  private int pingsAnswered;

  AgentConnection(ReferenceAgentServer server, int number) {
    this.server = server;
    this.number = number;
  }

  String clientId() {
    return clientId;
  }

  String clientType() {
    return clientType;
  }

  String platform() {
    return platform;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
      Duration every = server.pingInterval();
      if (every != null && !every.isZero()) {
        keepalive =
            ctx.executor()
                .scheduleAtFixedRate(
                    () -> ping(server.pingTimeout()),
                    every.toNanos(),
                    every.toNanos(),
                    TimeUnit.NANOSECONDS);
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  private void ping(Duration timeout) {
    if (pingsAnswered < pingsSent) {
      return; // the last ping's deadline has not passed yet
    }
    int ping = ++pingsSent;
    channel.writeAndFlush(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4})));
    channel
        .eventLoop()
        .schedule(
            () -> {
              if (pingsAnswered < ping) {
                close(1011, "keepalive ping timeout");
              }
            },
            timeout.toNanos(),
            TimeUnit.NANOSECONDS);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    if (frame instanceof PongWebSocketFrame) {
      pingsAnswered = pingsSent;
      return;
    }
    if (frame instanceof PingWebSocketFrame) {
      ctx.writeAndFlush(new PongWebSocketFrame(frame.content().retain()));
      return;
    }
    if (frame instanceof CloseWebSocketFrame close) {
      closeNote = close.statusCode() + " " + close.reasonText();
      if (!closing) {
        closing = true;
        ctx.writeAndFlush(new CloseWebSocketFrame(close.statusCode(), close.reasonText()))
            .addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.close();
      }
      return;
    }
    if (closing) {
      return;
    }
    boolean binary = frame instanceof BinaryWebSocketFrame;
    String text = frame.content().toString(StandardCharsets.UTF_8);
    server.record(number, clientId, FrameRecorder.Direction.IN, text, binary);
    if (binary) {
      // Starlette's receive_text() fails on a binary frame: the handler ends, the socket closes.
      close(1000, "");
      return;
    }
    if (clientId == null) {
      register(text);
    } else {
      handle(text);
    }
  }

  /** The reference's {@code connect}: parse, validate, refuse or register, reply. */
  private void register(String text) {
    ClientFrame f;
    try {
      f = ClientFrame.parse(text);
    } catch (ClientFrame.Invalid e) {
      close(1000, "");
      return;
    }
    if (f.clientId() == null || f.clientId().isEmpty() || !f.type().equals("register")) {
      close(1000, "");
      return;
    }
    ObjectNode md = f.metadata();
    String plat =
        md == null ? "windows" : md.has("platform") ? md.get("platform").asText() : "windows";
    if (f.clientType().equals("constellation") && f.targetId() != null && !f.targetId().isEmpty()) {
      AgentConnection t = server.client(f.targetId());
      if (t == null || !t.clientType.equals("device")) {
        refuse("Target device " + ReferenceFrames.pyRepr(f.targetId()) + " is not connected");
        return;
      }
    }
    if (server.client(f.clientId()) != null) {
      refuse(
          "client_id "
              + ReferenceFrames.pyRepr(f.clientId())
              + " is already registered; duplicate registrations are not allowed");
      return;
    }
    clientType = f.clientType();
    platform = plat;
    targetId = clientType.equals("constellation") ? f.targetId() : null;
    systemInfo =
        clientType.equals("device") && md != null && md.has("system_info")
            ? md.get("system_info")
            : null;
    clientId = f.clientId();
    server.registered(this);
    send(ReferenceFrames.heartbeatOk(null));
  }

  private void refuse(String reason) {
    send(ReferenceFrames.error(reason));
    close(1000, "");
  }

  /** The reference's {@code handle_message}. */
  private void handle(String text) {
    ClientFrame f;
    try {
      f = ClientFrame.parse(text);
    } catch (ClientFrame.Invalid e) {
      sendError(e.getMessage());
      return;
    }
    if (f.clientId() != null && !f.clientId().isEmpty() && !f.clientId().equals(clientId)) {
      sendError("client_id does not match the registered connection");
      return;
    }
    if (!f.clientType().equals(clientType)) {
      sendError("client_type does not match the registered connection");
      return;
    }
    switch (f.type()) {
      case "task" -> server.sessions().task(this, f);
      case "command_results" -> server.sessions().commandResults(this, f);
      case "heartbeat" -> send(ReferenceFrames.heartbeatOk(null));
      case "error" ->
          sendError(f.error() == null || f.error().isEmpty() ? "Unknown error" : f.error());
      case "device_info_request" -> deviceInfo(f);
      case "device_info_response" -> {
        // "reserved for future Pull model": logged, nothing changes, nothing is sent
      }
      default -> sendError("Unknown message type: " + f.enumName());
    }
  }

  private void deviceInfo(ClientFrame f) {
    if (!clientType.equals("constellation")) {
      sendError("DEVICE_INFO_REQUEST is permitted only for constellation clients");
      return;
    }
    String device = f.targetId();
    if (targetId != null && !targetId.equals(device)) {
      sendError("Not authorized to request device info for this device");
      return;
    }
    AgentConnection d = device == null ? null : server.client(device);
    JsonNode info = d == null || !d.clientType.equals("device") ? null : d.systemInfo;
    ObjectNode reply = ReferenceFrames.server("device_info_response", "ok");
    if (info != null && !(info.isObject() && info.isEmpty())) {
      reply.set("result", info.deepCopy());
    } else {
      reply
          .putObject("result")
          .put("error", "Device " + device + " not found or no system info available");
    }
    reply.put("response_id", f.requestId());
    send(reply);
  }

  void sendError(String text) {
    send(ReferenceFrames.error(text));
  }

  /** Writes one frame as text; false when the socket is no longer open (nothing is written). */
  boolean send(JsonNode frame) {
    if (!channel.isActive() || closing || server.stopping()) {
      return false;
    }
    String text = ReferenceFrames.text(frame);
    server.record(number, clientId, FrameRecorder.Direction.OUT, text, false);
    channel.writeAndFlush(new TextWebSocketFrame(text));
    return true;
  }

  /** Starts the close handshake; the TCP connection goes when the peer answers, or after 2 s. */
  void close(int code, String reason) {
    if (closing || !channel.isActive()) {
      return;
    }
    closing = true;
    closeNote = code + " " + reason;
    channel.writeAndFlush(new CloseWebSocketFrame(code, reason));
    channel.eventLoop().schedule(() -> channel.close(), 2, TimeUnit.SECONDS);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (keepalive != null) {
      keepalive.cancel(false);
    }
    server.record(number, clientId, FrameRecorder.Direction.CLOSED, closeNote, false);
    if (clientId != null) {
      server.disconnected(this);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
