package org.aiphub.core.registry;

import java.util.Collection;
import java.util.Optional;
import java.util.Set;

/** {@link DeviceSelector#preferredTags()}: most preferred tags, then least load, then age, id. */
final class PreferredTagsSelector implements DeviceSelector {
  static final PreferredTagsSelector INSTANCE = new PreferredTagsSelector();

  private PreferredTagsSelector() {}

  @Override
  public Optional<String> select(
      DeviceQuery query, Collection<String> candidates, Devices devices) {
    String platform = query.platform();
    Collection<String> required = query.requiredCapabilities();
    Collection<String> preferred = query.preferredTags();
    String wantedPlatform = platform == null ? null : DeviceIndex.lower(platform);
    ClientInfo best = null;
    int bestScore = -1;
    int bestRunning = 0;
    for (String id : candidates) {
      ClientInfo info = devices.device(id);
      if (info == null || !info.isDevice()) {
        continue;
      }
      if (wantedPlatform != null && !wantedPlatform.equals(info.platformKey())) {
        continue;
      }
      if (required != null && !required.isEmpty() && !info.featureSet().containsAll(required)) {
        continue;
      }
      int running = devices.runningSessions(id);
      if (info.maxConcurrentTasks() > 0 && running >= info.maxConcurrentTasks()) {
        continue;
      }
      int score = 0;
      if (preferred != null && !preferred.isEmpty()) {
        Set<String> tags = info.tagSet();
        for (String t : preferred) {
          if (t != null && tags.contains(t)) {
            score++;
          }
        }
      }
      if (best == null || better(score, running, info, bestScore, bestRunning, best)) {
        best = info;
        bestScore = score;
        bestRunning = running;
      }
    }
    return best == null ? Optional.empty() : Optional.of(best.clientId());
  }

  private static boolean better(
      int score, int running, ClientInfo info, int bestScore, int bestRunning, ClientInfo best) {
    if (score != bestScore) {
      return score > bestScore;
    }
    if (running != bestRunning) {
      return running < bestRunning;
    }
    int byAge = info.connectedAt().compareTo(best.connectedAt());
    if (byAge != 0) {
      return byAge < 0;
    }
    return info.clientId().compareTo(best.clientId()) < 0;
  }
}
