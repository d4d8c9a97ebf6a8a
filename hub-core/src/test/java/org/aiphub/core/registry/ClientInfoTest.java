package org.aiphub.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.testing.FakeConnection;
import org.junit.jupiter.api.Test;

class ClientInfoTest {
  private static final Instant T = Instant.parse("2026-11-25T14:30:00Z");
  private final FakeConnection conn = new FakeConnection("c");

  private ClientInfo device(Map<String, Object> systemInfo) {
    return new ClientInfo("d", ClientType.DEVICE, conn, "linux", T, null, null, systemInfo, 0);
  }

  @Test
  void featuresAndTagsAreTheStringsOfTheMergedInfo() {
    Map<String, Object> si = new LinkedHashMap<>();
    si.put("supported_features", Arrays.asList("gui", 7, null, "cli"));
    si.put("tags", List.of("prod"));
    ClientInfo info = device(si);
    assertThat(info.features()).containsExactly("gui", "cli");
    assertThat(info.tags()).containsExactly("prod");
    assertThat(info.isDevice()).isTrue();
  }

  @Test
  void featuresAndTagsAreEmptyWithoutInfoOrWithTheWrongShape() {
    assertThat(device(null).features()).isEmpty();
    assertThat(device(null).tags()).isEmpty();
    assertThat(device(Map.of("supported_features", "gui", "tags", Map.of())).features()).isEmpty();
    assertThat(device(Map.of("supported_features", "gui", "tags", Map.of())).tags()).isEmpty();
  }

  @Test
  void valuesAreFrozenCopies() {
    Map<String, Object> si = new LinkedHashMap<>();
    List<Object> features = new ArrayList<>(List.of("gui"));
    si.put("supported_features", features);
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("system_info", si);
    ClientInfo info = new ClientInfo("d", ClientType.DEVICE, conn, "linux", T, meta, si, si, 0);
    features.add("cli");
    si.put("x", 1);
    assertThat(info.features()).containsExactly("gui");
    assertThat(info.systemInfo()).containsOnlyKeys("supported_features");
    assertThat(info.reportedSystemInfo()).containsOnlyKeys("supported_features");
    assertThatThrownBy(() -> info.systemInfo().put("y", 2))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> info.metadata().clear())
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void requiredFieldsAreChecked() {
    assertThatThrownBy(
            () -> new ClientInfo(null, ClientType.DEVICE, conn, "l", T, null, null, null, 0))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new ClientInfo("d", null, conn, "l", T, null, null, null, 0))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(
            () -> new ClientInfo("d", ClientType.DEVICE, null, "l", T, null, null, null, 0))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(
            () -> new ClientInfo("d", ClientType.DEVICE, conn, null, T, null, null, null, 0))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(
            () -> new ClientInfo("d", ClientType.DEVICE, conn, "l", null, null, null, null, 0))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(
            () -> new ClientInfo("d", ClientType.DEVICE, conn, "l", T, null, null, null, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
