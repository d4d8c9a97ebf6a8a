package org.aiphub.core.session;

import java.time.Clock;

/** The {@link HeldOutcomes} contract, run against the in-memory store. */
class InMemoryHeldOutcomesTest extends HeldOutcomesContractTest {
  @Override
  protected HeldOutcomes create(HeldOutcomes.Limits limits, Clock clock) {
    return new InMemoryHeldOutcomes(limits, clock);
  }
}
