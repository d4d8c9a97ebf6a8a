package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link HubState} sees growth where attacks could leave it: inside the registry's per-client
 * session sets (in its {@code SessionBindings} part), in every part of the registry, and in the
 * dashboard state's maps, not only in top-level fields. Without this, the "no bookkeeping left
 * behind" checks (100,000 phantom frames among them) could pass over a leak.
 */
class HubStateTest {
  @Test
  void seesSessionIdsInsideTheRegistrysSetsAndTheDashboardsMaps() {
    try (Arena a = Arena.start()) {
      Map<String, Long> before = HubState.sizes(a.hub().server());
      assertThat(before)
          .containsKeys(
              "SessionBindings.byExecutor.inner",
              "SessionBindings.byOwner.inner",
              "SessionBindings.links",
              "DeviceIndex.byPlatform",
              "DeviceIndex.byCapability",
              "FoldIndex.byFold",
              "ClientRegistry.clients",
              "DashboardState.connections",
              "DashboardState.dirtyClients",
              "DashboardState.dirtySessions")
          .doesNotContainKey("DashboardState.series");
      // The innocents hold one session; no map grows by a session id but those sets.
      assertThat(before)
          .containsEntry("SessionBindings.byExecutor", 1L)
          .containsEntry("SessionBindings.byExecutor.inner", 1L)
          .containsEntry("SessionBindings.byOwner.inner", 1L);

      // A second session between the same two clients: the sets' sizes change, the maps' do not.
      a.owner().send(Frames.task(Arena.OWNER, Arena.DEVICE, "second", "more work"));
      assertThat(a.owner().next().sessionId()).isEqualTo("second");
      assertThat(a.device().next().sessionId()).isEqualTo("second");
      // (The router may tell its listeners just after the frames went out: hence the waits.)
      await()
          .untilAsserted(
              () ->
                  assertThat(HubState.sizes(a.hub().server()))
                      .containsEntry("SessionBindings.byExecutor", 1L)
                      .containsEntry("SessionBindings.byExecutor.inner", 2L)
                      .containsEntry("SessionBindings.byOwner.inner", 2L)
                      .containsEntry(
                          "DashboardState.connections",
                          (long) a.hub().server().registry().listClients().size()));
      Map<String, Long> after = HubState.sizes(a.hub().server());

      // The dashboard: a constellation scoped to a device joins, and heartbeats (as every client
      // the arena registers does).
      a.registered(Frames.registerConstellation("scoped", Arena.DEVICE));
      assertThat(HubState.heartbeatsNoted(a.hub().server())).contains("scoped");
      await()
          .untilAsserted(
              () ->
                  assertThat(HubState.sizes(a.hub().server()))
                      .containsEntry(
                          "DashboardState.connections",
                          after.get("DashboardState.connections") + 1));
    }
  }
}
