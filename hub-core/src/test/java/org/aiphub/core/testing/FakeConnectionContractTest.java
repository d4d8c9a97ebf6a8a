package org.aiphub.core.testing;

import org.aiphub.core.registry.ClientConnection;

/** The {@link ClientConnection} contract for the shared test fake. */
class FakeConnectionContractTest extends ClientConnectionContract {
  private int n;

  @Override
  protected ClientConnection open() {
    return new FakeConnection("fake-" + n++);
  }
}
