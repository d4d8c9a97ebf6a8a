package org.aiphub.core.registry;

import static org.aiphub.core.registry.RegistryTestSupport.meta;
import static org.aiphub.core.registry.RegistryTestSupport.metaWith;
import static org.aiphub.core.registry.RegistryTestSupport.systemInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.json.Collisions;
import org.aiphub.core.json.JsonValues;
import org.aiphub.core.testing.FakeConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the registry caches per client is bounded (issue 13, finding 1): a registration or a
 * device_info_response over {@code max_client_info_bytes}, {@code max_device_features} or {@code
 * max_device_feature_length} is refused with the limit named and changes nothing, and what is
 * accepted costs index entries in proportion to its features.
 */
class ClientInfoLimitsTest {
  private static final ClientInfoLimits SMALL = new ClientInfoLimits(2048, 20, 16);

  private final ClientRegistry registry = ClientRegistry.builder().infoLimits(SMALL).build();

  @AfterEach
  void indexesStayConsistent() {
    assertThat(RegistryConsistency.check(registry)).isEmpty();
  }

  private static String[] features(int n, int length) {
    String[] f = new String[n];
    for (int i = 0; i < n; i++) {
      String s = "f" + i;
      f[i] = s + "x".repeat(Math.max(0, length - s.length()));
    }
    return f;
  }

  private ClientInfoLimitException refusal(Map<String, Object> metadata, ClientType type) {
    return catchThrowableOfType(
        ClientInfoLimitException.class,
        () -> registry.addClient("dev", "linux", new FakeConnection("c"), type, metadata));
  }

  @Test
  void theDefaultsAreGenerousForRealDevicesAndDocumented() {
    assertThat(ClientInfoLimits.DEFAULTS).isEqualTo(new ClientInfoLimits(16 * 1024, 256, 128));
    assertThat(ClientRegistry.builder().build().infoLimits()).isEqualTo(ClientInfoLimits.DEFAULTS);
    assertThatThrownBy(() -> new ClientInfoLimits(0, 1, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void registrationsUpToEachLimitAreAccepted() throws Exception {
    registry.addClient(
        "dev", "linux", new FakeConnection("c"), ClientType.DEVICE, metaWith(features(20, 16)));
    assertThat(registry.getClientInfo("dev").orElseThrow().featureSet()).hasSize(20);
  }

  @Test
  void tooManyFeaturesOrTagsAreRefusedNamingTheLimit() {
    ClientInfoLimitException e = refusal(metaWith(features(21, 4)), ClientType.DEVICE);
    assertThat(e.limit()).isEqualTo("max_device_features");
    assertThat(e.getMessage())
        .isEqualTo(
            "metadata.system_info.supported_features has 21 entries, more than"
                + " max_device_features (20)");

    Map<String, Object> si = new LinkedHashMap<>();
    si.put("tags", new ArrayList<>(List.of(features(21, 4))));
    e = refusal(meta(si), ClientType.DEVICE);
    assertThat(e.limit()).isEqualTo("max_device_features");
    assertThat(e.getMessage()).startsWith("metadata.system_info.tags has 21 entries");
    assertThat(registry.isOnline("dev")).isFalse();
    assertThat(RegistryConsistency.capabilityIndexSize(registry)).containsExactly(0, 0);
  }

  @Test
  void aTooLongFeatureIsRefusedNamingItsPlace() {
    String[] f = features(3, 4);
    f[2] = "y".repeat(17);
    ClientInfoLimitException e = refusal(metaWith(f), ClientType.DEVICE);
    assertThat(e.limit()).isEqualTo("max_device_feature_length");
    assertThat(e.getMessage())
        .isEqualTo(
            "metadata.system_info.supported_features[2] has 17 characters, more than"
                + " max_device_feature_length (16)");
  }

  @Test
  void metadataOverTheByteLimitIsRefusedForDevicesAndConstellationsAlike() {
    Map<String, Object> big = new LinkedHashMap<>();
    big.put("blob", "z".repeat(2100));
    for (ClientType type : ClientType.values()) {
      ClientInfoLimitException e = refusal(big, type);
      assertThat(e.limit()).isEqualTo("max_client_info_bytes");
      assertThat(e.getMessage())
          .isEqualTo("metadata takes more than 2048 bytes of JSON (max_client_info_bytes)");
    }
    // Just under: {"blob":"..."} is 11 bytes around the string.
    Map<String, Object> fits = Map.of("blob", "z".repeat(2048 - 11));
    assertThat(JsonValues.encodedLength(fits, Long.MAX_VALUE)).isEqualTo(2048);
    assertThat(refusal(fits, ClientType.CONSTELLATION)).isNull();
  }

  @Test
  void aDeviceInfoResponseOverALimitLeavesTheCachedInfoAsItWas() throws Exception {
    FakeConnection c = new FakeConnection("c");
    registry.addClient("dev", "linux", c, ClientType.DEVICE, metaWith("gui", "excel"));
    ClientInfo before = registry.getClientInfo("dev").orElseThrow();

    ClientInfoLimitException e =
        catchThrowableOfType(
            ClientInfoLimitException.class,
            () -> registry.updateDeviceSystemInfo("dev", c, systemInfo(features(50, 4))));
    assertThat(e.limit()).isEqualTo("max_device_features");
    Map<String, Object> big = systemInfo("gui");
    big.put("blob", "z".repeat(4000));
    e =
        catchThrowableOfType(
            ClientInfoLimitException.class, () -> registry.updateDeviceSystemInfo("dev", c, big));
    assertThat(e.getMessage())
        .isEqualTo(
            "metadata.system_info takes more than 2048 bytes of JSON (max_client_info_bytes)");
    assertThat(registry.getClientInfo("dev")).containsSame(before);
    assertThat(registry.findDevicesWithCapability("excel")).containsExactly("dev");
  }

  @Test
  void theCapabilityIndexGrowsWithTheFeaturesAcceptedAndEmptiesWhenTheyGo() throws Exception {
    ClientRegistry roomy =
        ClientRegistry.builder().infoLimits(new ClientInfoLimits(1 << 20, 10_000, 64)).build();
    List<FakeConnection> conns = new ArrayList<>();
    long distinct = 0;
    for (int d = 0; d < 5; d++) {
      // Each device: 2000 features of its own (all one hash code) and 10 shared ones.
      List<String> own = Collisions.keys(2000, 11);
      List<String> f = new ArrayList<>();
      for (String s : own) {
        f.add(d + s);
      }
      for (int i = 0; i < 10; i++) {
        f.add("shared" + i);
      }
      f.addAll(f.subList(0, 100)); // duplicates add nothing
      FakeConnection c = new FakeConnection("c" + d);
      conns.add(c);
      roomy.addClient("dev" + d, "linux", c, ClientType.DEVICE, metaWith(f.toArray(new String[0])));
      distinct += 2000;
      assertThat(RegistryConsistency.capabilityIndexSize(roomy))
          .containsExactly(distinct + 10, (d + 1) * 2010L);
      assertThat(roomy.getClientInfo("dev" + d).orElseThrow().featureSet()).hasSize(2010);
    }
    assertThat(roomy.findDevicesWithCapability("3" + Collisions.keys(1, 11).get(0)))
        .containsExactly("dev3");
    assertThat(roomy.findDevicesWithCapability("shared7")).hasSize(5);
    assertThat(RegistryConsistency.check(roomy)).isEmpty();
    for (int d = 0; d < 5; d++) {
      roomy.removeClient("dev" + d, conns.get(d));
    }
    assertThat(RegistryConsistency.capabilityIndexSize(roomy)).containsExactly(0, 0);
  }

  @Test
  void featureSetsHoldCollidingStringsAndFindEachInLogarithmicSteps() throws Exception {
    List<String> keys = Collisions.keys(4096, 12);
    SortedStrings set = SortedStrings.of(keys);
    assertThat(set).hasSize(4096);
    for (String k : keys) {
      assertThat(set.contains(k)).isTrue();
    }
    assertThat(set.contains("AaAa")).isFalse();
    assertThat(set.contains(42)).isFalse();
    assertThat(SortedStrings.of(List.of("b", "a", "b"))).containsExactly("a", "b");
  }
}
