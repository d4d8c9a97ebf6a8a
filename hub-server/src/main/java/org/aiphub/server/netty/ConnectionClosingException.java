package org.aiphub.server.netty;

import java.io.IOException;

/** Fails a write attempted after the connection began to close. One shared, traceless instance. */
final class ConnectionClosingException extends IOException {
  private static final long serialVersionUID = 1L;

  static final ConnectionClosingException INSTANCE = new ConnectionClosingException();

  private ConnectionClosingException() {
    super("connection is closing");
  }

  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }
}
