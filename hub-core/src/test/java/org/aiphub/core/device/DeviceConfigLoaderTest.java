package org.aiphub.core.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link DeviceConfigLoader}: both formats, and every way a file can be wrong. */
class DeviceConfigLoaderTest {
  private static final String YAML =
      String.join(
          "\n",
          "# per-device settings",
          "devices:",
          "  device_windows_001:",
          "    tags: [\"production\", \"office\"]",
          "    tier: \"high_performance\"",
          "    additional_features: [\"excel_automation\"]",
          "    max_concurrent_tasks: 5",
          "    owner: ops-team",
          "  device_linux_001:",
          "    tags:",
          "      - development",
          "    tier: standard",
          "");
  private static final String JSON =
      String.join(
          "\n",
          "{\"devices\": {",
          "  \"device_windows_001\": {",
          "    \"tags\": [\"production\", \"office\"],",
          "    \"tier\": \"high_performance\",",
          "    \"additional_features\": [\"excel_automation\"],",
          "    \"max_concurrent_tasks\": 5,",
          "    \"owner\": \"ops-team\"",
          "  },",
          "  \"device_linux_001\": {\"tags\": [\"development\"], \"tier\": \"standard\"}",
          "}}",
          "");

  @TempDir Path dir;

  private Path write(String name, String content) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, content, StandardCharsets.UTF_8);
    return p;
  }

  /** Loads {@code p}, expects a failure, and checks the message names the file. */
  private static String failure(Path p) {
    DeviceConfigException e =
        catchThrowableOfType(DeviceConfigException.class, () -> DeviceConfigLoader.load(p));
    assertThat(e).as("loading %s should fail", p).isNotNull();
    assertThat(e.getMessage()).contains(p.toString());
    return e.getMessage();
  }

  private static void assertTheSampleConfig(DeviceConfig config) {
    assertThat(config.devices().keySet()).containsExactly("device_windows_001", "device_linux_001");
    DeviceEntry win = config.entry("device_windows_001");
    assertThat(win.tags()).containsExactly("production", "office");
    assertThat(win.tier()).isEqualTo("high_performance");
    assertThat(win.additionalFeatures()).containsExactly("excel_automation");
    assertThat(win.maxConcurrentTasks()).isEqualTo(5);
    assertThat(win.settings()).containsEntry("owner", "ops-team");
    assertThat(win.settings().keySet())
        .containsExactly("tags", "tier", "additional_features", "max_concurrent_tasks", "owner");
    DeviceEntry linux = config.entry("device_linux_001");
    assertThat(linux.tags()).containsExactly("development");
    assertThat(linux.additionalFeatures()).isNull();
    assertThat(linux.maxConcurrentTasks()).isNull();
  }

  // ------------------------------------------------------------------------------ good files

  @Test
  void loadsTheShippedExampleFromTheClasspath() throws Exception {
    URL url = DeviceConfigLoaderTest.class.getResource("/device-config/device_config.yaml");
    assertThat(url).isNotNull();
    Path path = Path.of(url.toURI());
    DeviceConfig config = DeviceConfigLoader.load(path);
    assertThat(config.source()).isEqualTo(path.toString());
    assertThat(config.devices().keySet()).containsExactly("device_windows_001", "device_linux_001");
    assertThat(config.entry("device_windows_001").maxConcurrentTasks()).isEqualTo(5);
    assertThat(config.entry("device_linux_001").additionalFeatures())
        .containsExactly("docker_support");
  }

  @ParameterizedTest
  @ValueSource(strings = {"devices.yaml", "devices.yml", "DEVICES.YAML", "Devices.Yml"})
  void loadsYamlByExtension(String name) throws Exception {
    Path p = write(name, YAML);
    DeviceConfig config = DeviceConfigLoader.load(p);
    assertTheSampleConfig(config);
    assertThat(config.source()).isEqualTo(p.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"devices.json", "DEVICES.JSON"})
  void loadsJsonByExtension(String name) throws Exception {
    Path p = write(name, JSON);
    DeviceConfig config = DeviceConfigLoader.load(p);
    assertTheSampleConfig(config);
    assertThat(config.source()).isEqualTo(p.toString());
  }

  @Test
  void yamlAndJsonGiveTheSameEntries() throws Exception {
    DeviceConfig yaml = DeviceConfigLoader.load(write("a.yaml", YAML));
    DeviceConfig json = DeviceConfigLoader.load(write("a.json", JSON));
    assertThat(yaml.devices()).isEqualTo(json.devices());
  }

  @Test
  void fromYamlAndFromJsonTakeTheSourceName() throws Exception {
    assertThat(DeviceConfigLoader.fromYaml(YAML, "inline").source()).isEqualTo("inline");
    assertThat(DeviceConfigLoader.fromJson(JSON, "inline").source()).isEqualTo("inline");
    assertTheSampleConfig(DeviceConfigLoader.fromYaml(YAML, "inline"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"devices:\n", "devices:\n# nothing yet\n", "devices: ~\n", "devices: {}\n"})
  void devicesWithNothingUnderItIsAnEmptyConfig(String yaml) throws Exception {
    assertThat(DeviceConfigLoader.load(write("d.yaml", yaml)).devices()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"{\"devices\": null}", "{\"devices\": {}}", "{\"other\": [1], \"devices\": {}}"})
  void jsonDevicesWithNothingUnderItIsAnEmptyConfig(String json) throws Exception {
    assertThat(DeviceConfigLoader.load(write("d.json", json)).devices()).isEmpty();
  }

  @Test
  void otherTopLevelKeysAreIgnored() throws Exception {
    String yaml = "version: 2\nhub:\n  port: 5000\n" + YAML;
    assertTheSampleConfig(DeviceConfigLoader.load(write("d.yaml", yaml)));
    String json = "{\"version\": 2, \"hub\": {\"port\": [5000]}, " + JSON.substring(1);
    assertTheSampleConfig(DeviceConfigLoader.load(write("d.json", json)));
  }

  @Test
  void anUnknownKeyInAnEntryIsKeptAndLandsInCustomMetadata() throws Exception {
    DeviceConfig config =
        DeviceConfigLoader.load(
            write(
                "d.yaml",
                "devices:\n  d1:\n    rack: B-12\n    location: {room: 3, shelf: [1, 2]}\n"));
    DeviceEntry e = config.entry("d1");
    assertThat(e.settings())
        .isEqualTo(Map.of("rack", "B-12", "location", Map.of("room", 3, "shelf", List.of(1, 2))));
    Map<String, Object> merged = SystemInfoMerger.merge(Map.of("os", "linux"), e);
    assertThat(merged.get("custom_metadata")).isEqualTo(e.settings());
  }

  @Test
  void numericDeviceIdsAreReadAsText() throws Exception {
    DeviceConfig config =
        DeviceConfigLoader.load(write("d.yaml", "devices:\n  1001:\n    tier: a\n"));
    assertThat(config.devices().keySet()).containsExactly("1001");
  }

  // ---------------------------------------------------------------------------- bad files

  @Test
  void aMissingFile() {
    Path p = dir.resolve("missing.yaml");
    assertThat(failure(p)).contains("not found");
  }

  @Test
  void aDirectoryIsNotReadable() throws Exception {
    Path p = Files.createDirectory(dir.resolve("config.yaml"));
    assertThat(failure(p)).contains("cannot read");
  }

  @Test
  void anUnreadableFile() throws Exception {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
    Path p = write("secret.yaml", YAML);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("---------"));
    try {
      assumeFalse(Files.isReadable(p), "running as root: permissions do not stop reads");
      assertThat(failure(p)).contains("cannot read");
    } finally {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
    }
  }

  @Test
  void aFileThatIsNotUtf8() throws Exception {
    Path p = dir.resolve("latin1.yaml");
    Files.write(p, "devices:\n  caf\u00e9: {tier: a}\n".getBytes(StandardCharsets.ISO_8859_1));
    assertThat(failure(p)).contains("UTF-8");
  }

  @ParameterizedTest
  @ValueSource(strings = {"devices.txt", "devices.xml", "devices", "devices.yaml.bak"})
  void anUnsupportedExtension(String name) throws Exception {
    assertThat(failure(write(name, YAML))).contains("unsupported").contains(".yaml");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\n\n", "# only a comment\n"})
  void anEmptyYamlFile(String content) throws Exception {
    assertThat(failure(write("d.yaml", content))).contains("empty");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  \n\t\n"})
  void anEmptyJsonFile(String content) throws Exception {
    assertThat(failure(write("d.json", content))).contains("empty");
  }

  @ParameterizedTest
  @ValueSource(strings = {"- a\n- b\n", "just text\n", "42\n"})
  void yamlThatIsNotAMapping(String content) throws Exception {
    assertThat(failure(write("d.yaml", content))).contains("line 1").contains("mapping");
  }

  @ParameterizedTest
  @ValueSource(strings = {"[1, 2]", "\"devices\"", "null"})
  void jsonThatIsNotAnObject(String content) throws Exception {
    assertThat(failure(write("d.json", content))).contains("line 1").contains("object");
  }

  @Test
  void noDevicesKey() throws Exception {
    assertThat(failure(write("d.yaml", "hosts:\n  a: 1\n"))).contains("'devices'");
    assertThat(failure(write("d.json", "{\"hosts\": {}}"))).contains("'devices'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"devices: [a, b]\n", "devices: 5\n", "devices: text\n"})
  void devicesThatIsNotAMapping(String content) throws Exception {
    assertThat(failure(write("d.yaml", content))).contains("line 1").contains("'devices'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"devices\": [1]}", "{\"devices\": 5}", "{\"devices\": \"x\"}"})
  void jsonDevicesThatIsNotAnObject(String content) throws Exception {
    assertThat(failure(write("d.json", content))).contains("line 1").contains("'devices'");
  }

  @Test
  void anEntryThatIsNotAMappingNamesTheDeviceAndTheLine() throws Exception {
    String yaml = "devices:\n  good:\n    tier: a\n  bad_list:\n    - x\n";
    assertThat(failure(write("d.yaml", yaml))).contains("bad_list").contains("line 5");
    assertThat(failure(write("e.yaml", "devices:\n  good: {}\n  bad_scalar: 5\n")))
        .contains("bad_scalar")
        .contains("line 3");
    assertThat(failure(write("f.yaml", "devices:\n  bad_null:\n  good: {}\n")))
        .contains("bad_null")
        .contains("line ");
    String json = "{\"devices\": {\n  \"good\": {},\n  \"bad\": [1]\n}}";
    assertThat(failure(write("d.json", json))).contains("bad").contains("line 3");
  }

  @Test
  void invalidYamlSyntaxGivesTheLine() throws Exception {
    assertThat(failure(write("a.yaml", "devices:\n  d1: {tier: a\n  d2: {}\n")))
        .contains("invalid YAML")
        .contains("line 3");
    assertThat(failure(write("b.yaml", "devices:\n  d1:\n    tier: a\n   bad: indent\n")))
        .contains("invalid YAML")
        .contains("line 4");
    assertThat(failure(write("c.yaml", "devices:\n\td1: {}\n"))).contains("line 2");
  }

  @Test
  void invalidJsonGivesTheLine() throws Exception {
    assertThat(failure(write("a.json", "{\"devices\": {\n  \"d1\": {\"tier\": \"a\",}\n}}")))
        .contains("invalid JSON")
        .contains("line 2");
    assertThat(failure(write("b.json", "{\"devices\": {\n  \"d1\": {}\n")))
        .contains("invalid JSON");
    assertThat(failure(write("c.json", "{\"devices\": {}}\n{\"devices\": {}}"))).contains("line 2");
  }

  static Stream<Arguments> wrongTypes() {
    return Stream.of(
        Arguments.of("tags", "prod", "\"prod\"", "prod"),
        Arguments.of("tags", "[prod, 7]", "[\"prod\", 7]", "7"),
        Arguments.of("tier", "3", "3", "3"),
        Arguments.of("tier", "[gold]", "[\"gold\"]", "gold"),
        Arguments.of("additional_features", "excel", "\"excel\"", "excel"),
        Arguments.of("additional_features", "{a: 1}", "{\"a\": 1}", "a=1"),
        Arguments.of("max_concurrent_tasks", "five", "\"five\"", "five"),
        Arguments.of("max_concurrent_tasks", "0", "0", "0"),
        Arguments.of("max_concurrent_tasks", "-3", "-3", "-3"),
        Arguments.of("max_concurrent_tasks", "2.5", "2.5", "2.5"),
        Arguments.of("max_concurrent_tasks", "true", "true", "true"));
  }

  @ParameterizedTest
  @MethodSource("wrongTypes")
  void aWrongTypeNamesTheFileTheDeviceTheKeyAndTheValue(
      String key, String yamlValue, String jsonValue, String shown) throws Exception {
    String yaml = "devices:\n  ok: {}\n  dev9:\n    " + key + ": " + yamlValue + "\n";
    assertThat(failure(write("d.yaml", yaml)))
        .contains("dev9")
        .contains(key)
        .contains(shown)
        .contains("line 4");
    String json = "{\"devices\": {\"ok\": {},\n \"dev9\": {\"" + key + "\": " + jsonValue + "}}}";
    assertThat(failure(write("d.json", json)))
        .contains("dev9")
        .contains(key)
        .contains(shown)
        .contains("line 2");
  }

  @Test
  void duplicateDeviceIds() throws Exception {
    String yaml = "devices:\n  d1: {tier: a}\n  d2: {}\n  d1: {tier: b}\n";
    assertThat(failure(write("d.yaml", yaml))).contains("d1").contains("twice").contains("line 4");
    String json = "{\"devices\": {\"d1\": {\"tier\": \"a\"},\n \"d1\": {\"tier\": \"b\"}}}";
    assertThat(failure(write("d.json", json))).contains("d1").contains("line 2");
  }

  @Test
  void duplicateKeysInsideAnEntry() throws Exception {
    String yaml = "devices:\n  d1:\n    tier: a\n    tier: b\n";
    assertThat(failure(write("d.yaml", yaml))).contains("d1").contains("tier");
    String json = "{\"devices\": {\"d1\": {\"tier\": \"a\",\n \"tier\": \"b\"}}}";
    assertThat(failure(write("d.json", json))).contains("tier").contains("line 2");
  }

  @Test
  void aSecondDevicesSectionIsRefusedRatherThanSilentlyWinning() throws Exception {
    String yaml = "devices:\n  d1: {tier: a}\ndevices:\n  d2: {tier: b}\n";
    assertThat(failure(write("d.yaml", yaml))).contains("'devices'").contains("line 3");
    String json = "{\"devices\": {\"d1\": {}},\n \"devices\": {\"d2\": {}}}";
    assertThat(failure(write("d.json", json))).contains("devices").contains("line 2");
  }

  @Test
  void yamlLoadingIsSafe() throws Exception {
    String yaml =
        "devices:\n  d1:\n    x: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader"
            + " [[!!java.net.URL [\"http://127.0.0.1:1/\"]]]]\n";
    // refused while parsing: nothing is ever instantiated
    assertThat(failure(write("d.yaml", yaml))).contains("line 3").contains("tag");
    assertThat(failure(write("e.yaml", "!!java.util.Date\ndevices: {}\n"))).contains("line 1");
  }

  @Test
  void nonJsonYamlValuesAreRefused() throws Exception {
    String yaml = "devices:\n  d1:\n    installed: 2024-01-31\n";
    assertThat(failure(write("d.yaml", yaml))).contains("d1");
    assertThat(failure(write("e.yaml", "devices:\n  d1:\n    7: seven\n"))).contains("d1");
  }
}
