package org.aiphub.core.registry;

import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.aiphub.core.aip.ClientType;

/**
 * The registry's secondary indexes: online ids by client type, devices by lower-cased platform and
 * by capability (every merged {@code supported_features} entry), so that "devices on linux" and
 * "devices with excel" cost O(answer), not O(all clients), and counts are set sizes, not scans.
 *
 * <p>Reads are lock-free. Writes for one client happen under that client's stripe (the registry
 * takes it); {@code compute} keeps "create set, add" and "remove, drop empty set" atomic per key,
 * so an add never lands in a set that a concurrent removal of another client is discarding.
 */
final class DeviceIndex {
  private final EnumMap<ClientType, Set<String>> byType = new EnumMap<>(ClientType.class);
  private final ConcurrentHashMap<String, Set<String>> byPlatform = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Set<String>> byCapability = new ConcurrentHashMap<>();

  DeviceIndex() {
    for (ClientType t : ClientType.values()) {
      byType.put(t, ConcurrentHashMap.newKeySet());
    }
  }

  /** Indexes a new entry. Caller holds the client's stripe. */
  void add(ClientInfo info) {
    String id = info.clientId();
    byType.get(info.clientType()).add(id);
    if (info.isDevice()) {
      addTo(byPlatform, info.platformKey(), id);
      for (String f : info.featureSet()) {
        addTo(byCapability, f, id);
      }
    }
  }

  /**
   * Moves a client's entries from {@code old} to {@code next} (same id), touching only the entries
   * that change. Removing and re-adding an unchanged entry would let a reader miss the client, and
   * would make a walk over the type index (a device config reload) meet the re-added id again and
   * again, without end. Caller holds the client's stripe.
   */
  void replace(ClientInfo old, ClientInfo next) {
    if (old.clientType() != next.clientType()) {
      remove(old);
      add(next);
      return;
    }
    if (!next.isDevice()) {
      return;
    }
    String id = next.clientId();
    String oldPlatform = old.platformKey();
    String newPlatform = next.platformKey();
    if (!oldPlatform.equals(newPlatform)) {
      addTo(byPlatform, newPlatform, id);
      removeFrom(byPlatform, oldPlatform, id);
    }
    Set<String> oldFeatures = old.featureSet();
    Set<String> newFeatures = next.featureSet();
    for (String f : newFeatures) {
      if (!oldFeatures.contains(f)) {
        addTo(byCapability, f, id);
      }
    }
    for (String f : oldFeatures) {
      if (!newFeatures.contains(f)) {
        removeFrom(byCapability, f, id);
      }
    }
  }

  /** Drops a departed entry. Caller holds the client's stripe. */
  void remove(ClientInfo info) {
    String id = info.clientId();
    byType.get(info.clientType()).remove(id);
    if (info.isDevice()) {
      removeFrom(byPlatform, info.platformKey(), id);
      for (String f : info.featureSet()) {
        removeFrom(byCapability, f, id);
      }
    }
  }

  /** The live set of online ids of one type (do not modify). */
  Set<String> ofType(ClientType type) {
    return byType.get(type);
  }

  /** The live set of devices on {@code platform}, ignoring case, or null when there are none. */
  Set<String> onPlatform(String platform) {
    return platform == null ? null : byPlatform.get(lower(platform));
  }

  /** The live set of devices offering {@code capability}, or null when there are none. */
  Set<String> withCapability(String capability) {
    return capability == null ? null : byCapability.get(capability);
  }

  /**
   * The smallest indexed set that holds every device that could match: the rarest required
   * capability's, else the platform's, else all devices; null when some requirement matches none.
   */
  Collection<String> candidates(String platform, Collection<String> requiredCapabilities) {
    if (requiredCapabilities != null && !requiredCapabilities.isEmpty()) {
      Set<String> smallest = null;
      for (String cap : requiredCapabilities) {
        Set<String> ids = withCapability(cap);
        if (ids == null || ids.isEmpty()) {
          return null;
        }
        if (smallest == null || ids.size() < smallest.size()) {
          smallest = ids;
        }
      }
      return smallest;
    }
    if (platform != null) {
      return onPlatform(platform);
    }
    return byType.get(ClientType.DEVICE);
  }

  /** Online devices per lower-cased platform, platforms without devices left out. */
  Map<String, Integer> platformCounts() {
    Map<String, Integer> platforms = new HashMap<>();
    byPlatform.forEach(
        (p, ids) -> {
          int n = ids.size();
          if (n > 0) {
            platforms.put(p, n);
          }
        });
    return platforms;
  }

  /** The platform index itself, for the test jar's consistency check (do not modify). */
  Map<String, Set<String>> platformIndex() {
    return byPlatform;
  }

  /** The capability index itself, for the test jar's consistency check (do not modify). */
  Map<String, Set<String>> capabilityIndex() {
    return byCapability;
  }

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  private static void addTo(ConcurrentHashMap<String, Set<String>> index, String key, String id) {
    index.compute(
        key,
        (k, set) -> {
          Set<String> s = set == null ? ConcurrentHashMap.newKeySet() : set;
          s.add(id);
          return s;
        });
  }

  private static void removeFrom(
      ConcurrentHashMap<String, Set<String>> index, String key, String id) {
    index.computeIfPresent(
        key,
        (k, set) -> {
          set.remove(id);
          return set.isEmpty() ? null : set;
        });
  }
}
