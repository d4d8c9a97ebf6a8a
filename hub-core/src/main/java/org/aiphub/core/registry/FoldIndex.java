package org.aiphub.core.registry;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.device.DeviceConfig;

/**
 * The look-alike index: every online id (mirrored ones too) under each of its {@link IdFolds} keys,
 * so that an id sharing a key with a different online or protected id is refused by a hash look-up
 * per key, never a scan. The ids the device config protects with a {@code token_sha256} are
 * computed once per config ({@link #reservedBy}) and handed in with each check.
 *
 * <p>Writes and checks for a key happen under that key's stripe (the registry takes the stripes of
 * the id and of all its keys, in index order), so of two look-alikes registering at once one waits
 * for the other and is refused.
 */
final class FoldIndex {
  // fold key -> the online ids with that key (one, but for a cross-node race)
  private final ConcurrentHashMap<String, Set<String>> byFold = new ConcurrentHashMap<>();
  private final IdFolds folds;

  FoldIndex(IdFolds folds) {
    this.folds = folds;
  }

  /** The rule this index folds by. */
  IdFolds folds() {
    return folds;
  }

  /** The fold keys of {@code id}. */
  List<String> keys(String id) {
    return folds.keys(id);
  }

  /** The fold keys of every id {@code config} protects with a {@code token_sha256}. */
  Map<String, Set<String>> reservedBy(DeviceConfig config) {
    Map<String, Set<String>> reserved = new HashMap<>();
    config
        .devices()
        .forEach(
            (id, entry) -> {
              if (entry.tokenSha256() != null && id != null && !id.isEmpty()) {
                for (String key : folds.keys(id)) {
                  reserved.merge(key, Set.of(id), (a, b) -> plus(a, id));
                }
              }
            });
    return Map.copyOf(reserved);
  }

  /**
   * Refuses {@code clientId} when one of its keys belongs to another id: one in {@code reserved},
   * or one online. Caller holds the stripes of the keys.
   *
   * @param typeOf the type of an online id, or null
   */
  void refuseLookAlikes(
      String clientId,
      List<String> keys,
      Map<String, Set<String>> reserved,
      Function<String, ClientType> typeOf)
      throws LookAlikeClientException {
    for (String key : keys) {
      for (String other : reserved.getOrDefault(key, Set.of())) {
        if (!other.equals(clientId)) {
          throw new LookAlikeClientException(
              clientId,
              other,
              typeOf.apply(other),
              true,
              "client_id "
                  + RegistryText.quote(clientId)
                  + " is too like a client id that has its own credential in the device config");
        }
      }
      for (String other : byFold.getOrDefault(key, Set.of())) {
        if (!other.equals(clientId)) {
          throw new LookAlikeClientException(
              clientId,
              other,
              typeOf.apply(other),
              false,
              "client_id "
                  + RegistryText.quote(clientId)
                  + " is too like the online client id "
                  + RegistryText.quote(other));
        }
      }
    }
  }

  /** Indexes an id under its keys. Caller holds the stripes of the keys. */
  void add(String clientId, List<String> keys) {
    for (String key : keys) {
      byFold.compute(key, (k, ids) -> ids == null ? Set.of(clientId) : plus(ids, clientId));
    }
  }

  /** Drops an id from its keys. Caller holds the stripes of the keys. */
  void remove(String clientId, List<String> keys) {
    for (String key : keys) {
      byFold.computeIfPresent(key, (k, ids) -> minus(ids, clientId));
    }
  }

  /** The index itself, for the test jar's consistency check (do not modify). */
  Map<String, Set<String>> index() {
    return byFold;
  }

  private static Set<String> plus(Set<String> ids, String id) {
    if (ids.contains(id)) {
      return ids;
    }
    LinkedHashSet<String> more = new LinkedHashSet<>(ids);
    more.add(id);
    return Collections.unmodifiableSet(more);
  }

  private static Set<String> minus(Set<String> ids, String id) {
    if (!ids.contains(id)) {
      return ids;
    }
    if (ids.size() == 1) {
      return null;
    }
    LinkedHashSet<String> fewer = new LinkedHashSet<>(ids);
    fewer.remove(id);
    return fewer.size() == 1 ? Set.of(fewer.iterator().next()) : Collections.unmodifiableSet(fewer);
  }
}
