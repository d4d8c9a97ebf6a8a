package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.CLUSTER_LEASE;
import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.aiphub.server.config.Settings.CLUSTER_RENEW_INTERVAL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.aiphub.core.registry.ClientConnection;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.testing.RedisProcess;
import org.aiphub.server.testing.TestHub;

/**
 * Hub nodes in this JVM (port 0) around one real Redis, for cluster tests: the shared one of {@code
 * .ci/run} ({@code HUB_TEST_REDIS_URL}, flushed first) or a private {@code redis-server} a test may
 * stop, pause and restart. Node ids carry a random suffix, so tests never see each other's nodes.
 * Closing the rig stops every node and the private Redis.
 */
final class ClusterRig implements AutoCloseable {
  /** Lease and renewal interval of tests about failures: short, so they finish quickly. */
  static final Duration SHORT_LEASE = Duration.ofMillis(1500);

  static final Duration RENEW = Duration.ofMillis(500);

  /** Lease of tests that do not kill nodes: long enough that a loaded machine reaps nobody. */
  static final Duration CALM_LEASE = Duration.ofSeconds(6);

  /** How long mirrors take to catch up at most (generous: the machine is shared). */
  static final Duration SYNC = Duration.ofSeconds(20);

  private final RedisProcess privateRedis;
  private final String url;
  private final String suffix;
  private final RedisClient client;
  private final List<TestHub> hubs = new ArrayList<>();
  private final List<CountDownLatch> stalls = new ArrayList<>();
  private StatefulRedisConnection<String, String> connection;

  private ClusterRig(RedisProcess privateRedis, String url) {
    this.privateRedis = privateRedis;
    this.url = url;
    byte[] b = new byte[3];
    ThreadLocalRandom.current().nextBytes(b);
    this.suffix = HexFormat.of().formatHex(b);
    RedisURI uri = RedisURI.create(url);
    uri.setTimeout(Duration.ofSeconds(10));
    this.client = RedisClient.create(uri);
  }

  /** On the shared Redis when there is one (flushed), else on a private one. */
  static ClusterRig start() {
    String shared = RedisProcess.sharedUrlOrNull();
    if (shared == null) {
      return privateRedis();
    }
    ClusterRig rig = new ClusterRig(null, shared);
    rig.redis().flushall();
    return rig;
  }

  /** Always on a private Redis, for tests that stop or pause it. */
  static ClusterRig privateRedis() {
    RedisProcess r = RedisProcess.start();
    return new ClusterRig(r, r.url());
  }

  /** The private Redis (fails on the shared one). */
  RedisProcess redisProcess() {
    assertThat(privateRedis).as("this rig runs on the shared Redis").isNotNull();
    return privateRedis;
  }

  /** The unique node id this rig gives {@code name}. */
  String id(String name) {
    return name + "-" + suffix;
  }

  /** A node named {@code name} with the calm lease. */
  TestHub node(String name) {
    return node(name, b -> b);
  }

  /** A node named {@code name}: cluster on, renewal every {@link #RENEW}, then {@code tweak}. */
  TestHub node(String name, UnaryOperator<HubConfig.Builder> tweak) {
    TestHub hub =
        TestHub.start(
            b ->
                tweak.apply(
                    b.set(CLUSTER_REDIS, url)
                        .set(CLUSTER_NODE_ID, id(name))
                        .set(CLUSTER_LEASE, CALM_LEASE)
                        .set(CLUSTER_RENEW_INTERVAL, RENEW)));
    hubs.add(hub);
    return hub;
  }

  /** A node with the short lease of failure tests. */
  TestHub shortLeaseNode(String name, UnaryOperator<HubConfig.Builder> tweak) {
    return node(name, b -> tweak.apply(b.set(CLUSTER_LEASE, SHORT_LEASE)));
  }

  static ClusterNode cluster(TestHub hub) {
    return hub.server().cluster().orElseThrow();
  }

  static String nodeId(TestHub hub) {
    return cluster(hub).nodeId();
  }

  /** Waits until every node in {@code hubs} lists {@code ids} as online. */
  static void awaitEverywhere(List<TestHub> hubs, String... ids) {
    await()
        .atMost(SYNC)
        .untilAsserted(
            () -> {
              for (TestHub h : hubs) {
                for (String id : ids) {
                  assertThat(h.server().registry().isOnline(id))
                      .as("%s online on %s", id, nodeId(h))
                      .isTrue();
                }
              }
            });
  }

  /** Waits until no node in {@code hubs} lists {@code ids}. */
  static void awaitGoneEverywhere(List<TestHub> hubs, String... ids) {
    await()
        .atMost(SYNC)
        .untilAsserted(
            () -> {
              for (TestHub h : hubs) {
                for (String id : ids) {
                  assertThat(h.server().registry().isOnline(id))
                      .as("%s online on %s", id, nodeId(h))
                      .isFalse();
                }
              }
            });
  }

  /** Whether {@code hub} holds the socket of {@code id} itself (not a mirror of another node). */
  static boolean holdsLocally(TestHub hub, String id) {
    return hub.server()
        .registry()
        .getClient(id)
        .map(ClientConnection::remoteAddress)
        .map(a -> !a.startsWith("hub node "))
        .orElse(false);
  }

  /**
   * Stalls {@code hub}'s cluster thread (no renewals, no cluster messages applied) until {@link
   * #resume} or the rig closes; returns once the thread is stalled.
   */
  CountDownLatch stall(TestHub hub) {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch stalled = new CountDownLatch(1);
    synchronized (stalls) {
      stalls.add(release);
    }
    cluster(hub)
        .runOnClusterThread(
            () -> {
              stalled.countDown();
              try {
                release.await(60, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    try {
      assertThat(stalled.await(10, TimeUnit.SECONDS)).as("cluster thread stalled").isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    return release;
  }

  static void resume(CountDownLatch stall) {
    stall.countDown();
  }

  // ----------------------------------------------------------------------------- Redis

  /** Synchronous commands on the rig's own connection (reconnects after a restart). */
  synchronized RedisCommands<String, String> redis() {
    if (connection == null || !connection.isOpen()) {
      connection = client.connect();
    }
    return connection.sync();
  }

  /** {@code hub:client-node}: client id to {@code node:epoch}. */
  Map<String, String> owners() {
    return redis().hgetall("hub:client-node");
  }

  /** Client id to the node holding it, as Redis says. */
  Map<String, String> ownerNodes() {
    Map<String, String> out = new java.util.TreeMap<>();
    owners().forEach((id, v) -> out.put(id, v.substring(0, v.lastIndexOf(':'))));
    return out;
  }

  Set<String> liveNodes() {
    return redis().smembers("hub:nodes");
  }

  boolean exists(String key) {
    return redis().exists(key) == 1;
  }

  /** Runs {@code f} on the rig's Redis commands. */
  <T> T withRedis(Function<RedisCommands<String, String>, T> f) {
    return f.apply(redis());
  }

  @Override
  public void close() {
    synchronized (stalls) {
      stalls.forEach(CountDownLatch::countDown);
    }
    for (int i = hubs.size() - 1; i >= 0; i--) {
      try {
        hubs.get(i).close();
      } catch (RuntimeException e) {
        // a killed node: nothing left to stop
      }
    }
    synchronized (this) {
      if (connection != null) {
        connection.close();
      }
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    if (privateRedis != null) {
      privateRedis.close();
    }
  }
}
