package org.aiphub.bench.loadgen;

/** A run cannot go on: a server did not start, clients could not register, a tool failed. */
final class LoadGenException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  LoadGenException(String message) {
    super(message);
  }

  LoadGenException(String message, Throwable cause) {
    super(message, cause);
  }
}
