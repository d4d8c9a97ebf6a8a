package org.aiphub.core.aip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

class AipCodecFixtureTest {
  private static final List<String> CLIENT = Fixtures.CLIENT;
  private static final List<String> SERVER = Fixtures.SERVER;
  private static final Set<String> SERVER_FIELDS =
      Set.of(
          "type",
          "status",
          "user_request",
          "agent_name",
          "process_name",
          "root_name",
          "actions",
          "messages",
          "error",
          "session_id",
          "task_name",
          "timestamp",
          "response_id",
          "result");

  private final AipCodec codec = new AipCodec();
  private final ObjectMapper json = new ObjectMapper();

  @ParameterizedTest
  @FieldSource("CLIENT")
  void everyClientFixtureDecodesFromBytesAndText(String name) throws Exception {
    ClientMessage fromBytes = codec.decodeClient(Fixtures.bytes(name));
    ClientMessage fromText = codec.decodeClient(Fixtures.text(name));
    assertThat(fromBytes).isEqualTo(fromText);
    assertThat(fromBytes.type().wire())
        .isEqualTo(json.readTree(Fixtures.bytes(name)).get("type").asText());
  }

  @ParameterizedTest
  @FieldSource("CLIENT")
  void clientFixturesSurviveAnEncodeDecodeRoundTrip(String name) throws Exception {
    ClientMessage m = codec.decodeClient(Fixtures.bytes(name));
    assertThat(codec.decodeClient(codec.encode(m))).isEqualTo(m);
    assertThat(withoutNulls(json.readTree(codec.encode(m))))
        .isEqualTo(withoutNulls(json.readTree(Fixtures.bytes(name))));
  }

  @ParameterizedTest
  @FieldSource("SERVER")
  void reEncodingAServerFixtureGivesTheSameJsonObjectWithoutItsNulls(String name) throws Exception {
    ServerMessage m = codec.decodeServer(Fixtures.bytes(name));
    JsonNode encoded = json.readTree(codec.encode(m));
    assertThat(encoded).isEqualTo(withoutNulls(json.readTree(Fixtures.bytes(name))));
  }

  /**
   * What a reference (pydantic) client does with our frames: every field it knows defaults to null,
   * so a frame must have type and status, must not carry fields it does not know, and must read
   * back to the same message when absent fields are taken as null.
   */
  @ParameterizedTest
  @FieldSource("SERVER")
  void encodedServerFramesSuitReferenceStyleClients(String name) throws Exception {
    ServerMessage m = codec.decodeServer(Fixtures.bytes(name));
    ObjectNode encoded = (ObjectNode) json.readTree(codec.encode(m));
    assertThat(encoded.has("type")).isTrue();
    assertThat(encoded.has("status")).isTrue();
    assertThat(SERVER_FIELDS).containsAll(iterable(encoded.fieldNames()));
    ObjectNode referenceView = json.createObjectNode();
    for (String f : SERVER_FIELDS) {
      referenceView.set(f, encoded.has(f) ? encoded.get(f) : json.nullNode());
    }
    assertThat(referenceView).isEqualTo(json.readTree(Fixtures.bytes(name)));
  }

  @Test
  void encodingAlwaysWritesTypeAndStatusAndOmitsNulls() throws Exception {
    ServerMessage bare = ServerMessage.builder(ServerMessageType.HEARTBEAT, TaskStatus.OK).build();
    assertThat(codec.encodeToString(bare)).isEqualTo("{\"type\":\"heartbeat\",\"status\":\"ok\"}");
  }

  @Test
  void fixtureFieldsDecodeToTheExpectedValues() throws Exception {
    ClientMessage register = codec.decodeClient(Fixtures.bytes("client-register-device.json"));
    assertThat(register.type()).isEqualTo(ClientMessageType.REGISTER);
    assertThat(register.clientType()).isEqualTo(ClientType.DEVICE);
    assertThat(register.clientId()).isEqualTo("device_windows_001");
    @SuppressWarnings("unchecked")
    Map<String, Object> si = (Map<String, Object>) register.metadata().get("system_info");
    assertThat(si).containsEntry("cpu_count", 8).containsEntry("memory_total_gb", 15.8);
    assertThat(((List<?>) si.get("supported_features")).subList(0, 2))
        .isEqualTo(List.of("gui", "cli"));

    ClientMessage results = codec.decodeClient(Fixtures.bytes("client-command-results.json"));
    assertThat(results.actionResults()).hasSize(2);
    assertThat(results.actionResults().get(1).status()).isEqualTo(ResultStatus.FAILURE);
    assertThat(results.actionResults().get(1).error()).isEqualTo("control not found");

    ClientMessage end = codec.decodeClient(Fixtures.bytes("client-task-end-device.json"));
    assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);
    assertThat(end.result()).isEqualTo(Map.of("total", 18250.5, "sheet", "Q3"));

    ClientMessage heartbeat =
        codec.decodeClient(Fixtures.bytes("client-heartbeat-constellation.json"));
    assertThat(heartbeat.clientType()).isEqualTo(ClientType.DEVICE);
    assertThat(heartbeat.clientId()).isEqualTo("weekly_report@device_windows_001");

    ServerMessage command = codec.decodeServer(Fixtures.bytes("server-command.json"));
    assertThat(command.actions())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.toolName()).isEqualTo("click_input");
              assertThat(c.toolType()).isEqualTo(ToolType.ACTION);
              assertThat(c.parameters()).containsEntry("button", "left");
            });
  }

  private static <T> Iterable<T> iterable(Iterator<T> it) {
    return () -> it;
  }

  /** Drops null fields of the message and of its records (not inside free JSON values). */
  private static JsonNode withoutNulls(JsonNode node) {
    ObjectNode copy = dropNullFields((ObjectNode) node);
    for (String records : List.of("action_results", "actions")) {
      if (copy.get(records) != null && copy.get(records).isArray()) {
        com.fasterxml.jackson.databind.node.ArrayNode a = copy.putArray(records);
        node.get(records).forEach(e -> a.add(dropNullFields((ObjectNode) e)));
      }
    }
    return copy;
  }

  private static ObjectNode dropNullFields(ObjectNode node) {
    ObjectNode copy = node.deepCopy();
    List<String> nulls = new java.util.ArrayList<>();
    copy.fieldNames()
        .forEachRemaining(
            f -> {
              if (copy.get(f).isNull()) {
                nulls.add(f);
              }
            });
    copy.remove(nulls);
    return copy;
  }
}
