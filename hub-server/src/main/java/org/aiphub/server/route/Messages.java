package org.aiphub.server.route;

import java.time.Clock;
import org.aiphub.core.aip.AipTimestamps;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;

/** Builds every frame the hub sends, stamped with the time and a fresh response id. */
public final class Messages {
  private final Clock clock;

  /** Messages stamped with {@code clock}. */
  public Messages(Clock clock) {
    this.clock = clock;
  }

  private ServerMessage.Builder stamped(ServerMessageType type, TaskStatus status) {
    return ServerMessage.builder(type, status)
        .timestamp(AipTimestamps.now(clock))
        .responseId(Ids.uuid());
  }

  /** The successful-registration reply and the heartbeat ack. */
  public ServerMessage heartbeatOk() {
    return stamped(ServerMessageType.HEARTBEAT, TaskStatus.OK).build();
  }

  /** The ack a constellation gets once its task went to the device. */
  public ServerMessage taskAccepted(String sessionId) {
    return stamped(ServerMessageType.HEARTBEAT, TaskStatus.OK).sessionId(sessionId).build();
  }

  /** An error frame. */
  public ServerMessage error(String reason) {
    return stamped(ServerMessageType.ERROR, TaskStatus.ERROR).error(reason).build();
  }

  /** An error frame about one session. */
  public ServerMessage error(String reason, String sessionId) {
    return stamped(ServerMessageType.ERROR, TaskStatus.ERROR)
        .error(reason)
        .sessionId(sessionId)
        .build();
  }

  /**
   * The task a device is asked to run, with the request as the hub received it: the session record
   * may keep only the beginning of a long one.
   */
  public ServerMessage taskForDevice(Session s, String request) {
    return stamped(ServerMessageType.TASK, TaskStatus.CONTINUE)
        .userRequest(request)
        .taskName(s.taskName())
        .sessionId(s.id())
        .build();
  }

  /** The outcome of a finished session, for its owner. */
  public ServerMessage taskEnd(Session s) {
    return stamped(
            ServerMessageType.TASK_END,
            s.state() == SessionState.COMPLETED ? TaskStatus.COMPLETED : TaskStatus.FAILED)
        .sessionId(s.id())
        .taskName(s.taskName())
        .result(s.result())
        .error(s.error())
        .build();
  }

  /**
   * Ends, for its sender, a task the hub refused: {@code task_end} {@code failed} with the task's
   * session id and the refusal as {@code error}. Nothing ran, so there is no task name or result.
   */
  public ServerMessage taskRefused(String sessionId, String reason) {
    return stamped(ServerMessageType.TASK_END, TaskStatus.FAILED)
        .sessionId(sessionId)
        .error(reason)
        .build();
  }

  /** Tells a device to stop working on a session that was cancelled. */
  public ServerMessage cancelForDevice(String sessionId, String reason) {
    return stamped(ServerMessageType.TASK_END, TaskStatus.FAILED)
        .sessionId(sessionId)
        .error(reason)
        .build();
  }

  /** The answer to a {@code device_info_request}. */
  public ServerMessage deviceInfo(String requestId, Object systemInfo) {
    return ServerMessage.builder(ServerMessageType.DEVICE_INFO_RESPONSE, TaskStatus.OK)
        .timestamp(AipTimestamps.now(clock))
        .responseId(requestId == null ? Ids.uuid() : requestId)
        .result(systemInfo)
        .build();
  }

  /** The refusal of a {@code device_info_request}. */
  public ServerMessage deviceInfoError(String requestId, String reason) {
    return ServerMessage.builder(ServerMessageType.DEVICE_INFO_RESPONSE, TaskStatus.ERROR)
        .timestamp(AipTimestamps.now(clock))
        .responseId(requestId == null ? Ids.uuid() : requestId)
        .error(reason)
        .build();
  }
}
