package org.aiphub.bench;

import org.aiphub.core.registry.ClientConnection;
import org.aiphub.core.testing.ClientConnectionContract;

/** The {@link ClientConnection} contract for the benchmarks' connection that drops everything. */
class NoopConnectionContractTest extends ClientConnectionContract {
  private int n;

  @Override
  protected ClientConnection open() {
    return new NoopConnection("bench-" + n++);
  }
}
