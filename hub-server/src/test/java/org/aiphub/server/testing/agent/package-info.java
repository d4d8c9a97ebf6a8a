/**
 * A test stand-in for the UFO reference agent server ({@code python -m ufo.server.app}), for the
 * gateway tests: {@link org.aiphub.server.testing.agent.ReferenceAgentServer} speaks AIP on the
 * wire as the reference does, with a scripted agent ({@link
 * org.aiphub.server.testing.agent.AgentScript}) instead of an LLM, and records every frame per
 * socket ({@link org.aiphub.server.testing.agent.FrameRecorder}).
 *
 * <p>It follows the reference's {@code ufo/server/ws/handler.py} (registration, identity pinning,
 * task and command-result handling, device info, disconnect), {@code
 * ufo/server/services/session_manager.py} (session ownership, result senders, background runs,
 * cancellation and the {@code task_end} it builds), {@code
 * ufo/server/services/client_connection_manager.py} (one registry for devices and constellations,
 * duplicate refusal, per-client session lists), {@code ufo/module/dispatcher.py} ({@code command}
 * frames, awaiting {@code command_results} by {@code prev_response_id}, error results on timeout or
 * a closed socket), {@code ufo/server/app.py} (the {@code ?token=} check) and {@code
 * aip/messages.py} (every {@code ServerMessage} field present, nulls included). In short:
 *
 * <ul>
 *   <li>the first frame must register; failures other than a duplicate id or a constellation target
 *       that is not a device on this server close the socket (1000) without an error frame; a bad
 *       token is HTTP 403 with an empty body;
 *   <li>later frames must carry the registered {@code client_id} (or none) and {@code client_type}
 *       ({@code device} when absent), so Galaxy's heartbeats on a constellation socket are refused;
 *       a binary frame closes the socket;
 *   <li>a task is acked ({@code heartbeat}/{@code ok} with {@code session_id}) on the sender's
 *       socket; the agent sends {@code command} frames (status {@code continue}, sanitised {@code
 *       task_name}, {@code process_name}/{@code root_name} {@code ""} until set) to the socket the
 *       executor had at task time; {@code task_end} goes to the owner's current socket, then to the
 *       device's for a constellation task; refusals are an error frame only;
 *   <li>{@code command_results} count only from the executor id for the awaited {@code
 *       prev_response_id}; everything else is dropped silently;
 *   <li>a device leaving fails its constellation sessions ({@code Task was cancelled because target
 *       device disconnected}, results so far); an owner leaving cancels silently; a device's own
 *       session is not cancelled when it leaves.
 * </ul>
 *
 * <p>These rules were observed on the real server by a harness kept outside this repository; the
 * recordings it made are in the test resources {@code agent-transcripts/}, and {@link
 * org.aiphub.server.testing.agent.TranscriptReplay} replays them against any server. Not modelled:
 * the reference's HTTP API, server-side device config merging, logging, and the LLM agent itself.
 */
package org.aiphub.server.testing.agent;
