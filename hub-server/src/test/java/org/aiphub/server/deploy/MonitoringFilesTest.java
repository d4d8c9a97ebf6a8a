package org.aiphub.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.server.config.Settings;
import org.aiphub.server.metrics.MetricNames;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The monitoring files in {@code deploy/}: every query of {@code grafana-dashboard.json} names only
 * metrics of the catalog ({@link MetricNames}, in their Prometheus spelling) or meters a live hub
 * exposes (JVM, Netty), so the dashboard cannot drift from the code; it covers what an operator of
 * a fleet watches; and {@code prometheus.yml} scrapes {@code /metrics} the way a hub with an
 * operator key answers.
 */
class MonitoringFilesTest {
  private static final Path REPO = repo();
  private static final Path DASHBOARD = REPO.resolve("deploy/grafana-dashboard.json");
  private static final Path PROMETHEUS = REPO.resolve("deploy/prometheus.yml");

  /** What Micrometer's Prometheus naming adds to a meter's dotted name, by meter kind. */
  private static final List<String> PROMETHEUS_SUFFIXES =
      List.of(
          "",
          "_total",
          "_seconds",
          "_seconds_bucket",
          "_seconds_count",
          "_seconds_sum",
          "_seconds_max");

  /** PromQL words that are not metric names (functions, aggregations, operators). */
  private static final Set<String> PROMQL_WORDS =
      Set.of(
          "sum",
          "max",
          "min",
          "avg",
          "count",
          "rate",
          "irate",
          "increase",
          "histogram_quantile",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "and",
          "or",
          "unless",
          "offset",
          "label_values",
          "instance",
          "topk",
          "bottomk",
          "abs",
          "clamp_min");

  /**
   * What the operator of a fleet watches (clients, connections, registrations and refusals,
   * sessions running and finished, the two latency histograms, rejected frames, slow-consumer and
   * idle closes, limit hits, the cluster, the JVM's heap and GC pauses): each must be queried by
   * some panel.
   */
  private static final List<String> MUST_BE_SHOWN =
      List.of(
          "hub_clients_connected",
          "hub_connections_open",
          "hub_registrations_total",
          "hub_connections_refused_total",
          "hub_http_refusals_total",
          "hub_sessions_running",
          "hub_sessions_finished_total",
          "hub_task_round_trip_seconds_bucket",
          "hub_task_dispatch_seconds_bucket",
          "hub_frames_rejected_total",
          "hub_slow_consumer_closes_total",
          "hub_idle_closes_total",
          "hub_limits_exceeded_total",
          "hub_cluster_nodes",
          "hub_cluster_degraded",
          "jvm_memory_used_bytes",
          "jvm_gc_pause_seconds_max");

  private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern LABELS = Pattern.compile("\\{[^}]*}");
  private static final Pattern RANGES = Pattern.compile("\\[[^]]*]");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern WORD = Pattern.compile("[A-Za-z_:][A-Za-z0-9_:]*");

  @Test
  void everyDashboardQueryNamesOnlyCatalogMetricsOrMetersALiveHubExposes() throws IOException {
    Map<String, Set<String>> namesByQuery = queries();
    assertThat(namesByQuery).hasSizeGreaterThan(20);
    Set<String> catalog = catalogNames();
    Set<String> exposed = exposedNames();
    for (Map.Entry<String, Set<String>> q : namesByQuery.entrySet()) {
      assertThat(q.getValue()).as("metric names in %s", q.getKey()).isNotEmpty();
      for (String name : q.getValue()) {
        if (name.startsWith("hub_")) {
          assertThat(catalog)
              .as("%s (in %s) is a MetricNames metric in Prometheus spelling", name, q.getKey())
              .contains(name);
        } else {
          assertThat(exposed)
              .as("%s (in %s) is exposed by a live hub's /metrics", name, q.getKey())
              .contains(name);
        }
      }
    }
  }

  @Test
  void theDashboardShowsWhatAFleetOperatorWatches() throws IOException {
    Set<String> shown = new TreeSet<>();
    queries().values().forEach(shown::addAll);
    assertThat(shown).containsAll(MUST_BE_SHOWN);
  }

  @Test
  void theNameCheckCatchesAMetricTheCatalogDoesNotHave() {
    // The check above is only as good as the extraction: a made-up name must come out of a query
    // as a name, and must not pass as a catalog metric.
    Set<String> names =
        metricNames(
            "histogram_quantile(0.99, sum by (le) (rate(hub_made_up_seconds_bucket"
                + "{instance=~\"$instance\",le=\"0.5\"}[$__rate_interval])))");
    assertThat(names).containsExactly("hub_made_up_seconds_bucket");
    assertThat(catalogNames()).doesNotContain("hub_made_up_seconds_bucket");
    assertThat(catalogNames()).contains("hub_task_round_trip_seconds_bucket");
  }

  @Test
  void everyPanelReadsTheDashboardsDataSourceAndHubNodeChoice() throws IOException {
    JsonNode dash = new ObjectMapper().readTree(DASHBOARD.toFile());
    assertThat(dash.path("uid").asText()).isEqualTo("aip-hub");
    List<JsonNode> panels = new ArrayList<>();
    collectPanels(dash.path("panels"), panels);
    for (JsonNode panel : panels) {
      assertThat(panel.path("datasource").path("uid").asText())
          .as("data source of %s", panel.path("title").asText())
          .isEqualTo("${datasource}");
      assertThat(panel.path("description").asText())
          .as("description of %s", panel.path("title").asText())
          .isNotBlank();
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("expr").asText())
            .as("query of %s", panel.path("title").asText())
            .contains("instance=~\"$instance\"");
      }
    }
  }

  @Test
  void prometheusScrapesMetricsWithTheOperatorKeyAsABearerToken() throws IOException {
    Map<String, Object> config;
    try (InputStream in = Files.newInputStream(PROMETHEUS)) {
      config = new Yaml().load(in);
    }
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> jobs = (List<Map<String, Object>>) config.get("scrape_configs");
    Map<String, Object> job =
        jobs.stream().filter(j -> "aip-hub".equals(j.get("job_name"))).findFirst().orElseThrow();
    assertThat(job.get("metrics_path")).isEqualTo("/metrics");
    @SuppressWarnings("unchecked")
    Map<String, Object> auth = (Map<String, Object>) job.get("authorization");
    assertThat(auth).containsEntry("type", "Bearer").containsKey("credentials_file");

    // What that job sends, a hub with an operator key answers; the client key is refused there.
    try (TestHub hub = TestHub.start(b -> b.set(Settings.ADMIN_KEY, TestHub.ADMIN_KEY))) {
      HubHttp http = new HubHttp(hub);
      HubHttp.Reply scraped =
          http.send(
              http.bare("/metrics").header("Authorization", "Bearer " + TestHub.ADMIN_KEY).GET());
      assertThat(scraped.status()).isEqualTo(200);
      assertThat(scraped.body()).contains("hub_connections_open");
      HubHttp.Reply clientKey =
          http.send(http.bare("/metrics").header("Authorization", "Bearer " + TestHub.KEY).GET());
      assertThat(clientKey.status()).isEqualTo(401);
    }
  }

  /** Every query of the dashboard (panel targets and template variables) with its metric names. */
  private static Map<String, Set<String>> queries() throws IOException {
    JsonNode dash = new ObjectMapper().readTree(DASHBOARD.toFile());
    Map<String, Set<String>> out = new LinkedHashMap<>();
    List<JsonNode> panels = new ArrayList<>();
    collectPanels(dash.path("panels"), panels);
    for (JsonNode panel : panels) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText();
        out.put(panel.path("title").asText() + ": " + expr, metricNames(expr));
      }
    }
    for (JsonNode variable : dash.path("templating").path("list")) {
      if ("query".equals(variable.path("type").asText())) {
        String query = variable.path("query").path("query").asText();
        out.put("variable " + variable.path("name").asText() + ": " + query, metricNames(query));
      }
    }
    return out;
  }

  private static void collectPanels(JsonNode list, List<JsonNode> into) {
    for (JsonNode panel : list) {
      if ("row".equals(panel.path("type").asText())) {
        collectPanels(panel.path("panels"), into);
      } else {
        into.add(panel);
      }
    }
  }

  /** The metric names a PromQL expression (or a {@code label_values} query) selects. */
  static Set<String> metricNames(String expr) {
    String s = QUOTED.matcher(expr).replaceAll(" ");
    s = LABELS.matcher(s).replaceAll(" ");
    s = RANGES.matcher(s).replaceAll(" ");
    s = GROUPING.matcher(s).replaceAll(" ");
    s = s.replaceAll("label_values\\(\\s*([A-Za-z_:][A-Za-z0-9_:]*)\\s*,[^)]*\\)", " $1 ");
    Set<String> names = new LinkedHashSet<>();
    Matcher m = WORD.matcher(s);
    while (m.find()) {
      String word = m.group();
      if (!PROMQL_WORDS.contains(word) && !word.startsWith("$")) {
        names.add(word);
      }
    }
    return names;
  }

  /** Every Prometheus spelling a {@link MetricNames} constant can take. */
  private static Set<String> catalogNames() {
    Set<String> names = new TreeSet<>();
    for (Field f : MetricNames.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        try {
          String base = ((String) f.get(null)).replace('.', '_');
          PROMETHEUS_SUFFIXES.forEach(suffix -> names.add(base + suffix));
        } catch (IllegalAccessException e) {
          throw new AssertionError(e);
        }
      }
    }
    return names;
  }

  /** The metric names a live hub's {@code /metrics} shows once it has seen a collection. */
  private static Set<String> exposedNames() {
    try (TestHub hub = TestHub.start()) {
      HubHttp http = new HubHttp(hub);
      Set<String> names = new TreeSet<>();
      // The GC pause timer appears with the first collection the hub hears of (asynchronously).
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                System.gc();
                HubHttp.Reply reply = http.get("/metrics");
                assertThat(reply.status()).isEqualTo(200);
                names.clear();
                PrometheusText.parse(reply.body()).forEach(sample -> names.add(sample.name()));
                return names.contains("jvm_gc_pause_seconds_count");
              });
      return names;
    }
  }

  private static Path repo() {
    Path module = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
    return module.getParent();
  }
}
