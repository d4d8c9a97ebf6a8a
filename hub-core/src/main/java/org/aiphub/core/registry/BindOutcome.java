package org.aiphub.core.registry;

/** Result of {@link ClientRegistry#bindSession}. */
public enum BindOutcome {
  /** Mapped on both sides. */
  BOUND,
  /** The session id is already mapped (a running session). */
  SESSION_IN_USE,
  /** The owner is not an online constellation. */
  OWNER_OFFLINE,
  /** The executor is not an online device. */
  DEVICE_OFFLINE,
  /** The device already runs its {@code max_concurrent_tasks}. */
  DEVICE_AT_CAPACITY,
  /** The owner already has its most running sessions. */
  OWNER_AT_CAPACITY
}
