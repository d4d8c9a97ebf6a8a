package org.aiphub.bench.loadgen;

/**
 * Checks that this process may open the sockets a mode needs: each client socket is a file
 * descriptor here, and with an in-process server a second one for the server's side.
 */
final class FdBudget {
  /** Descriptors kept free for the JVM's jars, epoll, pipes and the server socket. */
  static final int RESERVE = 300;

  private FdBudget() {}

  static void check(long sockets, boolean serverInProcess) {
    long limit = ProcStats.openFilesLimit();
    if (limit <= 0) {
      return;
    }
    long needed =
        sockets * (serverInProcess ? 2 : 1) + Math.max(0, ProcStats.openFiles()) + RESERVE;
    if (needed > limit) {
      throw new LoadGenException(
          sockets
              + " sockets need about "
              + needed
              + " open files in this process"
              + (serverInProcess ? " (the in-process server holds the other end of each)" : "")
              + " but the limit is "
              + limit
              + ": use fewer clients"
              + (serverInProcess ? ", or --spawn to run the server in its own process" : "")
              + ", or raise 'ulimit -n'");
    }
  }
}
