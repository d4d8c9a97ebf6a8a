package org.aiphub.server.e2e;

import static org.aiphub.server.testing.PrometheusText.matching;
import static org.aiphub.server.testing.PrometheusText.named;
import static org.aiphub.server.testing.PrometheusText.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.HubHttp.Reply;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.PrometheusText.Sample;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 4, "Metrics": after a task round trip over real WebSockets, {@code /metrics} holds each hub
 * series with the expected value (exposition lines parsed into name, labels and value), plus the
 * JVM and Netty allocator series.
 */
class MetricsEndToEndTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private TestHub hub;
  private HubHttp http;

  @BeforeEach
  void start() {
    hub = TestHub.start();
    http = new HubHttp(hub);
  }

  @AfterEach
  void stop() {
    hub.close();
  }

  private List<Sample> scrape() {
    Reply r = http.get("/metrics");
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.contentType()).startsWith("text/plain");
    return PrometheusText.parse(r.body());
  }

  @Test
  void aTaskRoundTripShowsInEverySeries() {
    try (WsClient device = hub.connect();
        WsClient constellation = hub.connect()) {
      device.send(JsonFrames.registerDevice("dev-1", "linux", List.of("gui")));
      assertThat(device.next().status()).isEqualTo(TaskStatus.OK);
      constellation.send(JsonFrames.registerConstellation("con-1"));
      assertThat(constellation.next().status()).isEqualTo(TaskStatus.OK);

      constellation.send(JsonFrames.task("con-1", "dev-1", "s-1", "galaxy/t/1", "do it"));
      assertThat(constellation.next().sessionId()).isEqualTo("s-1");
      ServerMessage task = device.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      device.send(JsonFrames.taskEnd("dev-1", "s-1", "completed", Map.of("ok", true), null));
      ServerMessage end = constellation.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.status()).isEqualTo(TaskStatus.COMPLETED);

      // Meters are updated on the event loop, some after the frame left: wait for the values.
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                List<Sample> s = scrape();
                assertThat(value(s, "hub_clients_connected", "type", "device")).isEqualTo(1.0);
                assertThat(value(s, "hub_clients_connected", "type", "constellation"))
                    .isEqualTo(1.0);
                assertThat(value(s, "hub_registrations_total", "outcome", "ok")).isEqualTo(2.0);
                assertThat(value(s, "hub_messages_in_total", "type", "register")).isEqualTo(2.0);
                assertThat(value(s, "hub_messages_in_total", "type", "task")).isEqualTo(1.0);
                assertThat(value(s, "hub_messages_in_total", "type", "task_end")).isEqualTo(1.0);
                assertThat(value(s, "hub_messages_out_total", "type", "task")).isEqualTo(1.0);
                assertThat(value(s, "hub_messages_out_total", "type", "task_end")).isEqualTo(1.0);
                // two registration replies and the task's acceptance ack
                assertThat(value(s, "hub_messages_out_total", "type", "heartbeat")).isEqualTo(3.0);
                assertThat(value(s, "hub_sessions_finished_total", "outcome", "completed"))
                    .isEqualTo(1.0);
                assertThat(value(s, "hub_sessions_finished_total", "outcome", "failed"))
                    .isEqualTo(0.0);
                assertThat(value(s, "hub_sessions_finished_total", "outcome", "cancelled"))
                    .isEqualTo(0.0);
                assertThat(value(s, "hub_sessions_running")).isEqualTo(0.0);
                assertThat(value(s, "hub_task_round_trip_seconds_count")).isEqualTo(1.0);
                assertThat(value(s, "hub_task_dispatch_seconds_count")).isEqualTo(1.0);
                assertThat(value(s, "hub_task_round_trip_seconds_sum")).isPositive();
                assertThat(value(s, "hub_task_dispatch_seconds_sum")).isPositive();
                assertHistogram(s, "hub_task_round_trip_seconds", 1);
                assertHistogram(s, "hub_task_dispatch_seconds", 1);
                assertThat(value(s, "hub_slow_consumer_closes_total")).isEqualTo(0.0);
              });

      // Refused registrations are counted by outcome, apart from the accepted ones.
      try (WsClient badId = hub.connect();
          WsClient duplicate = hub.connect()) {
        badId.send(JsonFrames.registerDevice("bad id", "linux", List.of()));
        assertThat(badId.next().type()).isEqualTo(ServerMessageType.ERROR);
        duplicate.send(JsonFrames.registerConstellation("con-1"));
        assertThat(duplicate.next().type()).isEqualTo(ServerMessageType.ERROR);
      }
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                List<Sample> s = scrape();
                assertThat(value(s, "hub_registrations_total", "outcome", "bad_client_id"))
                    .isEqualTo(1.0);
                assertThat(value(s, "hub_registrations_total", "outcome", "duplicate"))
                    .isEqualTo(1.0);
                assertThat(value(s, "hub_registrations_total", "outcome", "ok")).isEqualTo(2.0);
              });

      // A frame that is not JSON: counted by reason, and nothing else moves.
      device.send("this is not json");
      ServerMessage error = device.next();
      assertThat(error.type()).isEqualTo(ServerMessageType.ERROR);
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                List<Sample> s = scrape();
                assertThat(value(s, "hub_frames_rejected_total", "reason", "malformed_json"))
                    .isEqualTo(1.0);
                assertThat(named(s, "hub_frames_rejected_total"))
                    .extracting(Sample::value)
                    .containsOnly(1.0);
                assertThat(value(s, "hub_messages_in_total", "type", "task")).isEqualTo(1.0);
                // the two registration refusals above and this one
                assertThat(value(s, "hub_messages_out_total", "type", "error")).isEqualTo(3.0);
              });
    }

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              List<Sample> s = scrape();
              assertThat(value(s, "hub_clients_connected", "type", "device")).isZero();
              assertThat(value(s, "hub_clients_connected", "type", "constellation")).isZero();
            });
  }

  /** Buckets exist, are cumulative, and the +Inf bucket equals the count. */
  private static void assertHistogram(List<Sample> s, String base, double count) {
    List<Sample> buckets = named(s, base + "_bucket");
    assertThat(buckets).as(base + " buckets").hasSizeGreaterThan(1);
    assertThat(buckets).allSatisfy(b -> assertThat(b.labels()).containsKey("le"));
    assertThat(value(s, base + "_bucket", "le", "+Inf")).isEqualTo(count);
    double previous = 0;
    for (Sample b : buckets) {
      assertThat(b.value()).as("cumulative %s", b).isGreaterThanOrEqualTo(previous);
      previous = b.value();
    }
  }

  @Test
  void theSlowConsumerCounterJvmAndNettyAllocatorSeriesArePresent() {
    List<Sample> s = scrape();
    assertThat(value(s, "hub_slow_consumer_closes_total")).isEqualTo(0.0);
    assertThat(matching(s, "jvm_memory_used_bytes", "area", "heap")).isNotEmpty();
    assertThat(matching(s, "jvm_memory_used_bytes", "area", "heap"))
        .allSatisfy(x -> assertThat(x.value()).isNotNegative());
    assertThat(s)
        .as("netty allocator series")
        .anySatisfy(x -> assertThat(x.name()).startsWith("netty_allocator_"));
  }

  @Test
  void httpRequestsAreCountedByRouteAndStatus() {
    assertThat(http.get("/api/health").status()).isEqualTo(200);
    assertThat(http.send(http.bare("/api/health")).status()).isEqualTo(401);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              List<Sample> s = scrape();
              assertThat(
                      value(s, "hub_http_requests_total", "route", "/api/health", "status", "200"))
                  .isEqualTo(1.0);
              assertThat(
                      value(s, "hub_http_requests_total", "route", "/api/health", "status", "401"))
                  .isEqualTo(1.0);
            });
  }
}
