package org.aiphub.core.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code token_sha256} in a device config entry: only a SHA-256 digest in hex is accepted, its
 * value never appears in an error, and it never reaches the merged system info that clients see.
 */
class DeviceTokenTest {
  private static final String TOKEN = "s3cret-token";
  private static final String HASH = sha256Hex(TOKEN);

  private static String sha256Hex(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static Map<String, Object> settings(Object token) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("tier", "gold");
    s.put("tags", List.of("office"));
    s.put("additional_features", List.of("excel"));
    s.put(DeviceEntry.TOKEN_KEY, token);
    return s;
  }

  // ------------------------------------------------------------------------------ validation

  @Test
  void aLowerCaseSha256HexDigestIsAccepted() {
    assertThat(HASH).hasSize(64);
    DeviceEntry e = DeviceEntry.of("dev_x", settings(HASH));
    assertThat(e.tokenSha256()).isEqualTo(HASH);
    // The raw settings keep it (the hub checks registrations against it)...
    assertThat(e.settings()).containsEntry(DeviceEntry.TOKEN_KEY, HASH);
    // ...but the settings meant for display do not.
    assertThat(e.visibleSettings())
        .doesNotContainKey(DeviceEntry.TOKEN_KEY)
        .containsEntry("tier", "gold")
        .containsKeys("tags", "additional_features");
  }

  @Test
  void anUpperCaseDigestIsNormalisedToLowerCaseByTheLoaderPath() {
    DeviceEntry e = DeviceEntry.of("dev_x", settings(HASH.toUpperCase(Locale.ROOT)));
    assertThat(e.tokenSha256()).isEqualTo(HASH);
  }

  @Test
  void theRecordItselfOnlyTakesTheCanonicalLowerCaseForm() {
    assertThatThrownBy(
            () ->
                new DeviceEntry(
                    "dev_x", Map.of(), null, null, null, null, HASH.toUpperCase(Locale.ROOT)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(DeviceEntry.TOKEN_KEY);
  }

  @Test
  void anEntryWithoutATokenNeedsNoneAndShowsEverySetting() {
    Map<String, Object> s = new LinkedHashMap<>(settings(HASH));
    s.remove(DeviceEntry.TOKEN_KEY);
    DeviceEntry e = DeviceEntry.of("dev_y", s);
    assertThat(e.tokenSha256()).isNull();
    assertThat(e.visibleSettings()).isEqualTo(e.settings());
  }

  static Stream<String> malformedDigests() {
    return Stream.of(
        HASH.substring(1), // 63 digits
        HASH + "0", // 65 digits
        HASH.substring(0, 63) + "g", // not hex
        " " + HASH.substring(1), // whitespace
        "sha256:" + HASH.substring(7), // a prefix
        TOKEN, // the token itself instead of its digest
        "");
  }

  @ParameterizedTest
  @MethodSource("malformedDigests")
  void aMalformedDigestIsRefusedWithoutEchoingIt(String bad) {
    assertThatThrownBy(() -> DeviceEntry.of("dev_x", settings(bad)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(DeviceEntry.TOKEN_KEY)
        .satisfies(e -> assertNotEchoed(e.getMessage(), bad));
  }

  static Stream<Object> nonStrings() {
    return Stream.of(12345, 1.5, true, List.of(HASH), Map.of("sha", HASH));
  }

  @ParameterizedTest
  @MethodSource("nonStrings")
  void aNonStringIsRefusedWithoutEchoingIt(Object bad) {
    assertThatThrownBy(() -> DeviceEntry.of("dev_x", settings(bad)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(DeviceEntry.TOKEN_KEY)
        .satisfies(e -> assertNotEchoed(e.getMessage(), String.valueOf(bad)))
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(HASH));
  }

  private static void assertNotEchoed(String message, String value) {
    if (value.length() >= 4) {
      assertThat(message).doesNotContain(value);
    }
  }

  // --------------------------------------------------------------------------------- loading

  @ParameterizedTest
  @ValueSource(strings = {"yaml", "json"})
  void aConfigFileWithADigestLoadsIt(String format) throws DeviceConfigException {
    DeviceConfig c = load(format, HASH);
    assertThat(c.entry("dev_x").tokenSha256()).isEqualTo(HASH);
    assertThat(c.entry("dev_y").tokenSha256()).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"yaml", "json"})
  void aConfigFileWithABadDigestFailsNamingTheDeviceAndKeyButNotTheValue(String format) {
    String bad = "not-a-digest-but-a-plain-secret";
    assertThatThrownBy(() -> load(format, bad))
        .isInstanceOf(DeviceConfigException.class)
        .hasMessageContaining("devices.dev_x")
        .hasMessageContaining(DeviceEntry.TOKEN_KEY)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(bad));
  }

  private static DeviceConfig load(String format, String digest) throws DeviceConfigException {
    if (format.equals("yaml")) {
      return DeviceConfigLoader.fromYaml(
          "devices:\n"
              + "  dev_x:\n"
              + "    tier: gold\n"
              + "    token_sha256: \""
              + digest
              + "\"\n"
              + "  dev_y:\n"
              + "    tier: silver\n",
          "test.yaml");
    }
    return DeviceConfigLoader.fromJson(
        "{\"devices\":{\"dev_x\":{\"tier\":\"gold\",\"token_sha256\":\""
            + digest
            + "\"},\"dev_y\":{\"tier\":\"silver\"}}}",
        "test.json");
  }

  // --------------------------------------------------------------------------------- merging

  @Test
  void theMergedSystemInfoCarriesEveryOtherSettingButNeverTheDigest() {
    DeviceEntry e = DeviceEntry.of("dev_x", settings(HASH));
    Map<String, Object> reported = new LinkedHashMap<>();
    reported.put("device_id", "dev_x");
    reported.put("supported_features", List.of("gui"));
    reported.put("custom_metadata", Map.of("owner", "alice"));

    Map<String, Object> merged = SystemInfoMerger.merge(reported, e);

    @SuppressWarnings("unchecked")
    Map<String, Object> custom = (Map<String, Object>) merged.get("custom_metadata");
    assertThat(custom)
        .doesNotContainKey(DeviceEntry.TOKEN_KEY)
        .containsEntry("owner", "alice")
        .containsEntry("tier", "gold")
        .containsKeys("tags", "additional_features");
    assertThat(merged.get("supported_features")).isEqualTo(List.of("gui", "excel"));
    assertThat(merged.get("tags")).isEqualTo(List.of("office"));
    assertThat(String.valueOf(merged)).doesNotContain(HASH).doesNotContain(DeviceEntry.TOKEN_KEY);
  }

  @Test
  void anEntryWithOnlyADigestMergesToAnEmptyCustomMetadata() {
    DeviceEntry e = DeviceEntry.of("dev_x", Map.of(DeviceEntry.TOKEN_KEY, HASH));
    Map<String, Object> merged = SystemInfoMerger.merge(null, e);
    assertThat(merged).containsOnlyKeys("custom_metadata");
    assertThat((Map<?, ?>) merged.get("custom_metadata")).isEmpty();
  }
}
