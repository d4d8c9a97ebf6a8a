package org.aiphub.core.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.aiphub.core.aip.ClientType;

/**
 * Recounts a {@link ClientRegistry}'s indexes from its client table, for tests (hub-core's, and
 * hub-server's through the test jar): every index, session set, link and fold key must agree with
 * the table. It reads the registry's parts through their package-private read accessors; call it
 * when the registry is quiet.
 */
public final class RegistryConsistency {
  private RegistryConsistency() {}

  /** Every problem found; empty when the registry is consistent. */
  public static List<String> check(ClientRegistry registry) {
    List<String> problems = new ArrayList<>();
    Map<String, ClientInfo> clients = registry.table();
    DeviceIndex index = registry.deviceIndex();
    for (ClientType t : ClientType.values()) {
      for (String id : index.ofType(t)) {
        ClientInfo info = clients.get(id);
        if (info == null || info.clientType() != t) {
          problems.add("type index " + t + " holds " + id);
        }
      }
    }
    int devices = 0;
    for (ClientInfo info : clients.values()) {
      if (!index.ofType(info.clientType()).contains(info.clientId())) {
        problems.add("type index misses " + info.clientId());
      }
      if (info.isDevice()) {
        devices++;
        Set<String> p = index.platformIndex().get(info.platformKey());
        if (p == null || !p.contains(info.clientId())) {
          problems.add("platform index misses " + info.clientId());
        }
        for (String f : info.featureSet()) {
          Set<String> c = index.capabilityIndex().get(f);
          if (c == null || !c.contains(info.clientId())) {
            problems.add("capability index misses " + info.clientId() + "/" + f);
          }
        }
      }
    }
    int indexed = index.ofType(ClientType.DEVICE).size();
    if (devices != indexed) {
      problems.add("device count " + indexed + " != " + devices);
    }
    index
        .platformIndex()
        .forEach(
            (p, ids) ->
                ids.forEach(
                    id -> {
                      ClientInfo info = clients.get(id);
                      if (info == null || !info.isDevice() || !info.platformKey().equals(p)) {
                        problems.add("platform index " + p + " holds " + id);
                      }
                    }));
    index
        .capabilityIndex()
        .forEach(
            (c, ids) ->
                ids.forEach(
                    id -> {
                      ClientInfo info = clients.get(id);
                      if (info == null || !info.featureSet().contains(c)) {
                        problems.add("capability index " + c + " holds " + id);
                      }
                    }));
    checkFolds(problems, clients, registry.foldIndex());
    SessionBindings bindings = registry.sessionBindings();
    checkSide(problems, clients, bindings, bindings.ownerSets(), true);
    checkSide(problems, clients, bindings, bindings.executorSets(), false);
    bindings
        .links()
        .forEach(
            (s, l) -> {
              if (l.owner() == null && l.executor() == null) {
                problems.add("empty link " + s);
              }
              if (l.owner() != null && !bindings.ofOwner(l.owner()).contains(s)) {
                problems.add("owner set of " + l.owner() + " misses " + s);
              }
              if (l.executor() != null && !bindings.ofExecutor(l.executor()).contains(s)) {
                problems.add("device set of " + l.executor() + " misses " + s);
              }
            });
    return problems;
  }

  /** Distinct capabilities in the index, and (device, capability) pairs in it. */
  public static long[] capabilityIndexSize(ClientRegistry registry) {
    Map<String, Set<String>> byCapability = registry.deviceIndex().capabilityIndex();
    long pairs = 0;
    for (Set<String> ids : byCapability.values()) {
      pairs += ids.size();
    }
    return new long[] {byCapability.size(), pairs};
  }

  private static void checkFolds(
      List<String> problems, Map<String, ClientInfo> clients, FoldIndex folds) {
    for (ClientInfo info : clients.values()) {
      for (String key : folds.keys(info.clientId())) {
        Set<String> ids = folds.index().get(key);
        if (ids == null || !ids.contains(info.clientId())) {
          problems.add("fold index misses " + info.clientId() + "/" + key);
        }
      }
    }
    folds
        .index()
        .forEach(
            (key, ids) -> {
              if (ids.isEmpty()) {
                problems.add("empty fold set kept for " + key);
              }
              for (String id : ids) {
                if (!clients.containsKey(id) || !folds.keys(id).contains(key)) {
                  problems.add("fold index " + key + " holds " + id);
                }
              }
            });
  }

  private static void checkSide(
      List<String> problems,
      Map<String, ClientInfo> clients,
      SessionBindings bindings,
      Map<String, SessionIds> sets,
      boolean owners) {
    sets.forEach(
        (client, ids) -> {
          ClientInfo info = clients.get(client);
          ClientType want = owners ? ClientType.CONSTELLATION : ClientType.DEVICE;
          if (info == null || info.clientType() != want) {
            problems.add("sessions mapped to offline or mistyped client " + client);
          }
          if (ids.isEmpty()) {
            problems.add("empty session set kept for " + client);
          }
          for (String s : ids) {
            SessionLink l = bindings.link(s);
            String side = l == null ? null : owners ? l.owner() : l.executor();
            if (!client.equals(side)) {
              problems.add("session " + s + " in set of " + client + " but link says " + l);
            }
          }
        });
  }
}
