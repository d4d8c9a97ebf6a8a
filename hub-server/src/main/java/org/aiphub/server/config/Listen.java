package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.BOSS_THREADS;
import static org.aiphub.server.config.Settings.HOST;
import static org.aiphub.server.config.Settings.PORT;
import static org.aiphub.server.config.Settings.SO_BACKLOG;
import static org.aiphub.server.config.Settings.WORKER_THREADS;
import static org.aiphub.server.config.Settings.WS_PATH;

/**
 * Where and with how many threads the hub listens. Validated on construction.
 *
 * @param host address to bind
 * @param port TCP port (0 picks a free one)
 * @param wsPath path of the AIP WebSocket endpoint
 * @param bossThreads threads accepting connections
 * @param workerThreads threads serving connections (0: Netty's default, twice the cores)
 * @param soBacklog accept queue length
 */
public record Listen(
    String host, int port, String wsPath, int bossThreads, int workerThreads, int soBacklog) {

  /** Checks every value against its rules in {@link Settings}. */
  public Listen {
    HOST.check(host);
    PORT.check(port);
    WS_PATH.check(wsPath);
    BOSS_THREADS.check(bossThreads);
    WORKER_THREADS.check(workerThreads);
    SO_BACKLOG.check(soBacklog);
  }

  static Listen from(HubConfig.Builder b) {
    return new Listen(
        b.get(HOST),
        b.get(PORT),
        b.get(WS_PATH),
        b.get(BOSS_THREADS),
        b.get(WORKER_THREADS),
        b.get(SO_BACKLOG));
  }
}
