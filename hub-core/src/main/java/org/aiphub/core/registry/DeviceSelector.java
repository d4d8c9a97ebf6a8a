package org.aiphub.core.registry;

import java.util.Collection;
import java.util.Optional;

/**
 * The policy behind {@link ClientRegistry#selectOptimalDevice}: which online device should run a
 * task. The registry narrows the candidates with its indexes (the rarest required capability's
 * devices, else the platform's, else all) and hands them over with a view of the live entries; the
 * selector filters and ranks them. Implementations must be thread-safe, must not block, and should
 * cost O(candidates): they run on the caller's thread without a lock.
 */
@FunctionalInterface
public interface DeviceSelector {
  /**
   * The default policy: a device on {@code platform} (ignoring case; null for any) with every
   * required capability and room under its {@code max_concurrent_tasks}; the best has most of the
   * preferred tags, ties going to the fewest running sessions, then the longest connected, then the
   * smallest id.
   */
  static DeviceSelector preferredTags() {
    return PreferredTagsSelector.INSTANCE;
  }

  /**
   * Picks a device.
   *
   * @param query what the task needs
   * @param candidates ids that may match (a superset of the matches; some may have left already)
   * @param devices the live entries and their load
   * @return the chosen device's id, or empty when none fits
   */
  Optional<String> select(DeviceQuery query, Collection<String> candidates, Devices devices);

  /**
   * What a task asks of its device.
   *
   * @param platform the platform, ignoring case; null for any
   * @param requiredCapabilities capabilities the device must all have; null or empty for none
   * @param preferredTags tags that make a device better; null or empty for none
   */
  record DeviceQuery(
      String platform, Collection<String> requiredCapabilities, Collection<String> preferredTags) {}

  /** The registry's live view, as a selector sees it. */
  interface Devices {
    /** The entry of an online device, or null (offline, or not a device). */
    ClientInfo device(String id);

    /** How many sessions the device runs now. */
    int runningSessions(String id);
  }
}
