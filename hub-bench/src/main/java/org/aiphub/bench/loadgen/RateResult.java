package org.aiphub.bench.loadgen;

import java.util.Map;

/**
 * The outcome of one {@code rate} run against one target.
 *
 * @param target which server
 * @param how how it ran (spawned with pid, in-process, external)
 * @param url where the clients connected, token hidden
 * @param settings what was asked
 * @param counts task accounting
 * @param throughput completed measured tasks per second, from the first measured send time to the
 *     last measured result
 * @param latency round trip from the scheduled send time (coordinated omission avoided)
 * @param latencyFromSend round trip from the actual send time (diagnostic)
 * @param sendLag how late the sender was against the schedule (diagnostic of the client)
 * @param server the server process's CPU and memory
 * @param clientCpuMicrosPerTask this process's CPU per completed task (the whole load generator,
 *     plus the server when it runs in-process)
 * @param clientThreadCpuMicros this process's CPU over the window per thread group
 */
record RateResult(
    TargetKind target,
    String how,
    String url,
    RateSettings settings,
    TaskLedger.Counts counts,
    double throughput,
    Latency latency,
    Latency latencyFromSend,
    Latency sendLag,
    ServerUsage server,
    double clientCpuMicrosPerTask,
    Map<String, Double> clientThreadCpuMicros) {}
