package org.aiphub.core.device;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.aiphub.core.json.JsonValues;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Loads a device config file: YAML ({@code .yaml}, {@code .yml}, safe loading only: no custom tags,
 * no object construction) or JSON ({@code .json}), chosen by extension.
 *
 * <p>The file must be a mapping with a {@code devices} key whose value maps device ids to mappings
 * of settings ({@code devices:} left empty means no entries). Every failure is a {@link
 * DeviceConfigException} whose message names the file, and the line and key when known.
 */
public final class DeviceConfigLoader {
  // Duplicate keys are refused in JSON as in YAML (setAllowDuplicateKeys(false) below), rather
  // than the last one silently winning.
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private DeviceConfigLoader() {}

  /** Loads and validates the file at {@code path}. */
  public static DeviceConfig load(Path path) throws DeviceConfigException {
    String name = path.getFileName() == null ? "" : path.getFileName().toString();
    String lower = name.toLowerCase(Locale.ROOT);
    String text = read(path);
    if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
      return fromYaml(text, path.toString());
    }
    if (lower.endsWith(".json")) {
      return fromJson(text, path.toString());
    }
    throw new DeviceConfigException(
        "device config " + path + ": unsupported file type; use .yaml, .yml or .json");
  }

  private static String read(Path path) throws DeviceConfigException {
    try {
      byte[] bytes = Files.readAllBytes(path);
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    } catch (NoSuchFileException e) {
      throw new DeviceConfigException("device config " + path + ": file not found", e);
    } catch (CharacterCodingException e) {
      throw new DeviceConfigException("device config " + path + ": file is not UTF-8 text", e);
    } catch (IOException | SecurityException e) {
      throw new DeviceConfigException(
          "device config " + path + ": cannot read file (" + e + ")", e);
    }
  }

  // ------------------------------------------------------------------------------------ YAML

  /** Parses YAML text; {@code source} names the file in messages. */
  public static DeviceConfig fromYaml(String text, String source) throws DeviceConfigException {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setAllowRecursiveKeys(false);
    NodeValues values = new NodeValues(options);
    Node root;
    try (Reader reader = new StringReader(text)) {
      root = new Yaml(values).compose(reader);
    } catch (MarkedYAMLException e) {
      throw new DeviceConfigException(
          at(source, e.getProblemMark()) + "invalid YAML: " + e.getProblem(), e);
    } catch (YAMLException | IOException e) {
      throw new DeviceConfigException(
          "device config " + source + ": invalid YAML: " + e.getMessage(), e);
    }
    if (root == null) {
      throw new DeviceConfigException(
          "device config " + source + ": file is empty; expected a mapping with a 'devices' key");
    }
    if (!(root instanceof MappingNode)) {
      throw new DeviceConfigException(
          at(source, root.getStartMark())
              + "top level must be a mapping with a 'devices' key, got "
              + kind(root));
    }
    Node devicesNode = null;
    for (NodeTuple t : ((MappingNode) root).getValue()) {
      if (t.getKeyNode() instanceof ScalarNode
          && "devices".equals(((ScalarNode) t.getKeyNode()).getValue())) {
        if (devicesNode != null) {
          // composing does not check duplicate keys; only construction would
          throw new DeviceConfigException(
              at(source, t.getKeyNode().getStartMark()) + "'devices' is defined twice");
        }
        devicesNode = t.getValueNode();
      }
    }
    if (devicesNode == null) {
      throw new DeviceConfigException("device config " + source + ": no 'devices' key");
    }
    Map<String, DeviceEntry> devices = new LinkedHashMap<>();
    if (isNull(devicesNode)) {
      return new DeviceConfig(devices, source);
    }
    if (!(devicesNode instanceof MappingNode)) {
      throw new DeviceConfigException(
          at(source, devicesNode.getStartMark())
              + "'devices' must be a mapping of device id to settings, got "
              + kind(devicesNode));
    }
    for (NodeTuple t : ((MappingNode) devicesNode).getValue()) {
      Node key = t.getKeyNode();
      Node value = t.getValueNode();
      if (!(key instanceof ScalarNode)) {
        throw new DeviceConfigException(
            at(source, key.getStartMark()) + "device ids under 'devices' must be plain scalars");
      }
      String id = ((ScalarNode) key).getValue();
      String where = at(source, value.getStartMark()) + "devices." + id;
      if (!(value instanceof MappingNode)) {
        throw new DeviceConfigException(where + " must be a mapping, got " + kind(value));
      }
      if (devices.containsKey(id)) {
        throw new DeviceConfigException(where + " is defined twice");
      }
      Map<String, Object> settings;
      try {
        settings = JsonValues.freezeObject((Map<?, ?>) values.value(value));
      } catch (YAMLException | IllegalArgumentException e) {
        throw new DeviceConfigException(where + ": " + e.getMessage(), e);
      }
      devices.put(id, entry(where, id, settings));
    }
    return new DeviceConfig(devices, source);
  }

  /** Exposes SafeConstructor's value construction for one composed node. */
  private static final class NodeValues extends SafeConstructor {
    NodeValues(LoaderOptions options) {
      super(options);
    }

    Object value(Node node) {
      return constructObject(node);
    }
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
  }

  private static String kind(Node node) {
    switch (node.getNodeId()) {
      case sequence:
        return "a list";
      case mapping:
        return "a mapping";
      default:
        return isNull(node)
            ? "null"
            : "the scalar '" + DeviceEntry.show(((ScalarNode) node).getValue()) + "'";
    }
  }

  private static String at(String source, Mark mark) {
    return "device config "
        + source
        + (mark == null ? ": " : ": line " + (mark.getLine() + 1) + ": ");
  }

  // ------------------------------------------------------------------------------------ JSON

  /** Parses JSON text; {@code source} names the file in messages. */
  public static DeviceConfig fromJson(String text, String source) throws DeviceConfigException {
    Map<String, DeviceEntry> devices = new LinkedHashMap<>();
    boolean sawDevices = false;
    try (JsonParser p = JSON.createParser(text)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new DeviceConfigException(
            "device config " + source + ": file is empty; expected an object with 'devices'");
      }
      if (t != JsonToken.START_OBJECT) {
        throw new DeviceConfigException(
            at(source, p) + "top level must be an object with a 'devices' key");
      }
      String field;
      while ((field = p.nextFieldName()) != null) {
        t = p.nextToken();
        if (!"devices".equals(field)) {
          p.skipChildren();
          continue;
        }
        sawDevices = true;
        if (t == JsonToken.VALUE_NULL) {
          continue;
        }
        if (t != JsonToken.START_OBJECT) {
          throw new DeviceConfigException(
              at(source, p) + "'devices' must be an object of device id to settings");
        }
        String id;
        while ((id = p.nextFieldName()) != null) {
          t = p.nextToken();
          String where = at(source, p) + "devices." + id;
          if (t != JsonToken.START_OBJECT) {
            throw new DeviceConfigException(where + " must be an object");
          }
          if (devices.containsKey(id)) {
            throw new DeviceConfigException(where + " is defined twice");
          }
          devices.put(id, entry(where, id, JsonValues.readObject(p)));
        }
      }
      if (p.nextToken() != null) {
        throw new DeviceConfigException(at(source, p) + "unexpected data after the top object");
      }
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      String line = loc == null ? "" : "line " + loc.getLineNr() + ": ";
      throw new DeviceConfigException(
          "device config " + source + ": " + line + "invalid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new DeviceConfigException("device config " + source + ": " + e.getMessage(), e);
    }
    if (!sawDevices) {
      throw new DeviceConfigException("device config " + source + ": no 'devices' key");
    }
    return new DeviceConfig(devices, source);
  }

  private static String at(String source, JsonParser p) {
    return "device config " + source + ": line " + p.currentTokenLocation().getLineNr() + ": ";
  }

  private static DeviceEntry entry(String where, String id, Map<String, Object> settings)
      throws DeviceConfigException {
    try {
      return DeviceEntry.of(id, settings);
    } catch (IllegalArgumentException e) {
      throw new DeviceConfigException(where + "." + e.getMessage(), e);
    }
  }
}
