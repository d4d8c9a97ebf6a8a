package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.HISTORY_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionState;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.AipPeer;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server issue's concurrency test spread over two nodes: 100 devices and 10 constellations,
 * half on each node, run a few thousand tasks, most of them across nodes, while a random tenth of
 * the clients disconnect and reconnect to the <em>other</em> node. Afterwards every task has
 * exactly one outcome at its owner, nothing is mapped on either node, each registry's counters
 * equal its contents, and both nodes' mirrors agree with Redis.
 *
 * <p>Outcome kinds are those of the one-node test, plus one: a task whose device left its node
 * after the owner's node had routed to it fails on the device's node with "not connected" (the
 * owner's node could not know yet). A constellation that reconnects to the other node gets the
 * outcomes held for it there ({@code held}: a later socket than the one the task went out on).
 */
class ClusterConcurrencyTest {
  private static final int DEVICES = 100;
  private static final int CONSTELLATIONS = 10;
  private static final int TASKS = 3000;
  private static final int WINDOW = 16;
  private static final double CROSS_SHARE = 0.8;

  private final Queue<String> anomalies = new ConcurrentLinkedQueue<>();
  private final AtomicInteger sent = new AtomicInteger();
  private final AtomicInteger crossSent = new AtomicInteger();
  private final AtomicInteger outcomes = new AtomicInteger();
  private TestHub a;
  private TestHub b;

  /** An outcome as its owner received it. */
  record Outcome(String kind, String error, Object result, int generation) {}

  private TestHub other(TestHub hub) {
    return hub == a ? b : a;
  }

  private void awaitGoneFromBoth(String id) {
    await()
        .atMost(ClusterRig.SYNC)
        .until(() -> !a.server().registry().isOnline(id) && !b.server().registry().isOnline(id));
  }

  /** A device id across its connections: it answers every task with {@code completed}. */
  final class Device {
    final String id;
    volatile TestHub hub;
    volatile AipPeer peer;

    Device(String id) {
      this.id = id;
    }

    void connect(TestHub on) throws Exception {
      AipPeer p = AipPeer.connect(on.wsUri(), this::onMessage);
      p.send(ClientFrames.registerDevice(id));
      Clients.assertRegistered(p.first().get(10, TimeUnit.SECONDS));
      hub = on;
      peer = p;
    }

    void onMessage(AipPeer p, ServerMessage m) {
      if (m.type() == ServerMessageType.TASK) {
        String sid = m.sessionId();
        String end =
            ClientFrames.taskEnd(
                id, sid, "{\"session_id\":\"" + sid + "\",\"device\":\"" + id + "\"}");
        long delay = ThreadLocalRandom.current().nextLong(4);
        CompletableFuture.runAsync(
            () -> p.send(end), CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS));
      } else if (m.type() == ServerMessageType.TASK_END) {
        if (!TaskRouter.CONSTELLATION_DISCONNECTED.equals(m.error())) {
          anomalies.add(id + " got an unexpected task_end " + m);
        }
      } else if (m.type() == ServerMessageType.ERROR) {
        if (m.sessionId() == null) {
          anomalies.add(id + " got an error " + m.error());
        }
        // else: a result for a session that had ended meanwhile
      } else if (m.type() != ServerMessageType.HEARTBEAT) {
        anomalies.add(id + " got " + m);
      }
    }

    /** Leaves (abruptly or cleanly) and registers again on the other node. */
    void moveToOtherNode(boolean abort) throws Exception {
      TestHub to = other(hub);
      AipPeer old = peer;
      if (abort) {
        old.abort();
      } else {
        old.closeCleanly().get(10, TimeUnit.SECONDS);
      }
      awaitGoneFromBoth(id);
      connect(to);
    }
  }

  /** A constellation id across its connections, with every outcome it received. */
  final class Constellation {
    final String id;
    final ReentrantLock lock = new ReentrantLock();
    final Semaphore window = new Semaphore(WINDOW);
    final Map<String, Integer> sentOn = new ConcurrentHashMap<>();
    final Map<String, TestHub> ownerNode = new ConcurrentHashMap<>();
    final Map<String, Outcome> received = new ConcurrentHashMap<>();

    /** Refused tasks whose task_end has not come yet, with the refusal's text. */
    final Map<String, String> refusalsToEnd = new ConcurrentHashMap<>();

    volatile TestHub hub;
    volatile AipPeer peer;
    volatile int generation;

    Constellation(String id) {
      this.id = id;
    }

    void connect(TestHub on) throws Exception {
      int gen = generation + 1;
      AipPeer p = AipPeer.connect(on.wsUri(), (peer, m) -> onMessage(gen, m));
      p.send(ClientFrames.registerConstellation(id));
      Clients.assertRegistered(p.first().get(10, TimeUnit.SECONDS));
      generation = gen;
      hub = on;
      peer = p;
    }

    void onMessage(int gen, ServerMessage m) {
      String sid = m.sessionId();
      if (m.type() == ServerMessageType.HEARTBEAT) {
        return;
      }
      if (sid == null) {
        anomalies.add(id + " got " + m);
        return;
      }
      Outcome o;
      if (m.type() == ServerMessageType.TASK_END
          && m.status() == TaskStatus.FAILED
          && m.error() != null
          && refusalsToEnd.remove(sid, m.error())) {
        return; // a refused task ends for its sender: part of the refusal, not a second outcome
      }
      if (m.type() == ServerMessageType.TASK_END) {
        o =
            new Outcome(
                m.status() == TaskStatus.COMPLETED ? "completed" : "failed",
                m.error(),
                m.result(),
                gen);
      } else if (m.type() == ServerMessageType.ERROR) {
        o = new Outcome("refused", m.error(), null, gen);
        refusalsToEnd.put(sid, m.error());
      } else {
        anomalies.add(id + " got " + m);
        return;
      }
      if (!sentOn.containsKey(sid)) {
        anomalies.add(id + " got an outcome for a session it never sent: " + m);
      }
      Outcome first = received.putIfAbsent(sid, o);
      if (first != null) {
        anomalies.add(id + " got a second outcome for " + sid + ": " + o + " after " + first);
        return;
      }
      outcomes.incrementAndGet();
      window.release();
    }

    void send(List<Device> devices, int count, Random random) throws InterruptedException {
      for (int i = 0; i < count; i++) {
        if (!window.tryAcquire(30, TimeUnit.SECONDS)) {
          List<String> open = new ArrayList<>(sentOn.keySet());
          open.removeAll(received.keySet());
          throw new AssertionError(id + " waits for outcomes of " + open);
        }
        String sid = id + "-t" + i;
        lock.lock();
        try {
          boolean cross = random.nextDouble() < CROSS_SHARE;
          Device target;
          do {
            target = devices.get(random.nextInt(devices.size()));
          } while ((target.hub != hub) != cross);
          if (cross) {
            crossSent.incrementAndGet();
          }
          sentOn.put(sid, generation);
          ownerNode.put(sid, hub);
          peer.send(ClientFrames.task(id, target.id, sid, "run " + sid))
              .exceptionally(
                  e -> {
                    anomalies.add(id + " could not send " + sid + ": " + e);
                    return null;
                  });
        } finally {
          lock.unlock();
        }
        sent.incrementAndGet();
      }
    }

    void moveToOtherNode() throws Exception {
      lock.lock();
      try {
        TestHub to = other(hub);
        int code = peer.closeCleanly().get(10, TimeUnit.SECONDS);
        assertThat(code).as("%s closed", id).isEqualTo(1000);
        awaitGoneFromBoth(id);
        connect(to);
      } finally {
        lock.unlock();
      }
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void thousandsOfTasksMostlyAcrossNodesWhileATenthOfTheClientsMoveNodes() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    List<Device> devices = new ArrayList<>();
    List<Constellation> constellations = new ArrayList<>();
    ExecutorService senders = Executors.newFixedThreadPool(CONSTELLATIONS + 1);
    try (ClusterRig rig = ClusterRig.start()) {
      a = rig.node("a", c -> c.set(HISTORY_SIZE, 4 * TASKS));
      b = rig.node("b", c -> c.set(HISTORY_SIZE, 4 * TASKS));
      try {
        for (int i = 0; i < DEVICES; i++) {
          Device d = new Device(String.format("dev-%03d", i));
          d.connect(i % 2 == 0 ? a : b);
          devices.add(d);
        }
        for (int i = 0; i < CONSTELLATIONS; i++) {
          Constellation c = new Constellation(String.format("galaxy-%02d", i));
          c.connect(i % 2 == 0 ? a : b);
          constellations.add(c);
        }
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () -> {
                  assertThat(a.server().registry().getStats().total())
                      .isEqualTo(DEVICES + CONSTELLATIONS);
                  assertThat(b.server().registry().getStats().total())
                      .isEqualTo(DEVICES + CONSTELLATIONS);
                });

        // A random tenth of each kind moves to the other node, spread over the run.
        List<Object> moving = new ArrayList<>();
        List<Device> shuffledDevices = new ArrayList<>(devices);
        Collections.shuffle(shuffledDevices, random);
        moving.addAll(shuffledDevices.subList(0, DEVICES / 10));
        List<Constellation> shuffledOwners = new ArrayList<>(constellations);
        Collections.shuffle(shuffledOwners, random);
        moving.addAll(shuffledOwners.subList(0, CONSTELLATIONS / 10));
        Collections.shuffle(moving, random);

        List<Future<?>> running = new ArrayList<>();
        for (Constellation c : constellations) {
          Random r = new Random(random.nextLong());
          running.add(
              senders.submit(
                  () -> {
                    c.send(devices, TASKS / CONSTELLATIONS, r);
                    return null;
                  }));
        }
        Future<?> chaos =
            senders.submit(
                () -> {
                  for (int k = 0; k < moving.size(); k++) {
                    int threshold = TASKS * (5 + 70 * k / moving.size()) / 100;
                    await().atMost(Duration.ofSeconds(60)).until(() -> sent.get() >= threshold);
                    Object who = moving.get(k);
                    if (who instanceof Device) {
                      ((Device) who).moveToOtherNode(k % 2 == 0);
                    } else {
                      ((Constellation) who).moveToOtherNode();
                    }
                  }
                  return null;
                });

        chaos.get(120, TimeUnit.SECONDS);
        for (Future<?> f : running) {
          f.get(120, TimeUnit.SECONDS);
        }
        await()
            .atMost(Duration.ofSeconds(60))
            .failFast("anomalies", () -> assertThat(anomalies).as("seed %d", seed).isEmpty())
            .until(() -> outcomes.get() == TASKS);
        // each refusal's task_end follows its error frame at once
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> constellations.stream().allMatch(c -> c.refusalsToEnd.isEmpty()));
        assertThat(anomalies).as("seed %d", seed).isEmpty();

        // ---------------------------------------------------------------- the owners' books
        int completed = 0;
        int failed = 0;
        int refused = 0;
        int held = 0;
        int remoteRefusals = 0;
        for (Constellation c : constellations) {
          assertThat(c.received.keySet()).as("outcomes of %s", c.id).isEqualTo(c.sentOn.keySet());
          for (Map.Entry<String, Outcome> e : c.received.entrySet()) {
            String sid = e.getKey();
            Outcome o = e.getValue();
            boolean later = o.generation() > c.sentOn.get(sid);
            // The owner's node (where the task was sent) has the authoritative session.
            Session session = c.ownerNode.get(sid).server().sessions().get(sid).orElse(null);
            switch (o.kind()) {
              case "refused":
                assertThat(later).as("refusals come at once: %s", sid).isFalse();
                assertThat(o.error()).as(sid).contains("not connected");
                assertThat(session).as("a refused task is no session: %s", sid).isNull();
                refused++;
                break;
              case "completed":
                assertThat(o.result())
                    .as(sid)
                    .isInstanceOfSatisfying(
                        Map.class, r -> assertThat(r.get("session_id")).isEqualTo(sid));
                assertThat(session.state()).as(sid).isEqualTo(SessionState.COMPLETED);
                if (later) {
                  held++;
                } else {
                  completed++;
                }
                break;
              default:
                assertThat(session).as(sid).isNotNull();
                if (TaskRouter.CONSTELLATION_DISCONNECTED.equals(o.error())) {
                  assertThat(later).as("a cancellation waits for its owner: %s", sid).isTrue();
                  assertThat(session.state()).as(sid).isEqualTo(SessionState.CANCELLED);
                } else if (TaskRouter.DEVICE_DISCONNECTED.equals(o.error())) {
                  assertThat(session.state()).as(sid).isEqualTo(SessionState.FAILED);
                } else {
                  assertThat(o.error()).as(sid).contains("not connected");
                  assertThat(session.state()).as(sid).isEqualTo(SessionState.FAILED);
                  remoteRefusals++;
                }
                if (later) {
                  held++;
                } else {
                  failed++;
                }
            }
            if (session != null) {
              assertThat(session.held()).as(sid).isFalse();
              assertThat(session.ownerId()).isEqualTo(c.id);
            }
          }
        }
        System.out.printf(
            "cluster concurrency (seed %d): sent %d (%d across nodes) = completed %d + failed %d"
                + " (%d refused by the device's node) + refused %d + held %d%n",
            seed, sent.get(), crossSent.get(), completed, failed, remoteRefusals, refused, held);
        assertThat(sent.get()).isEqualTo(TASKS);
        assertThat(completed + failed + refused + held).as("sent").isEqualTo(TASKS);
        assertThat(completed).as("most tasks complete").isGreaterThan(TASKS / 2);

        // --------------------------------------------------------------- the nodes' books
        for (TestHub h : List.of(a, b)) {
          String n = ClusterRig.nodeId(h);
          await()
              .atMost(ClusterRig.SYNC)
              .untilAsserted(
                  () -> {
                    assertThat(h.server().sessions().counts().running())
                        .as("running on %s", n)
                        .isZero();
                    assertThat(h.server().sessions().counts().held()).as("held on %s", n).isZero();
                  });
          var registry = h.server().registry();
          assertThat(registry.listClientsByType(ClientType.DEVICE)).as(n).hasSize(DEVICES);
          assertThat(registry.listClientsByType(ClientType.CONSTELLATION))
              .as(n)
              .hasSize(CONSTELLATIONS);
          Clients.assertNoMappingsAndConsistent(registry);
        }

        // Each node's session counters against what the owners saw, as the one-node test checks
        // them. A node counts the sessions its constellations owned (tallied from the outcomes
        // they received) and the copies it ran for owners on the other node (tallied from the
        // copies themselves: no constellation sees those).
        Map<TestHub, int[]> books = new HashMap<>();
        for (TestHub h : List.of(a, b)) {
          books.put(h, new int[3]); // completed, cancelled, failed + cancelled
        }
        for (Constellation c : constellations) {
          for (Map.Entry<String, Outcome> e : c.received.entrySet()) {
            String sid = e.getKey();
            TestHub owner = c.ownerNode.get(sid);
            int[] own = books.get(owner);
            Outcome o = e.getValue();
            if ("completed".equals(o.kind())) {
              own[0]++;
            } else if (!"refused".equals(o.kind())) {
              own[2]++;
              if (TaskRouter.CONSTELLATION_DISCONNECTED.equals(o.error())) {
                own[1]++;
              }
            }
            Session copy = other(owner).server().sessions().get(sid).orElse(null);
            if (copy != null) {
              int[] ran = books.get(other(owner));
              switch (copy.state()) {
                case COMPLETED:
                  ran[0]++;
                  break;
                case CANCELLED:
                  ran[1]++;
                  ran[2]++;
                  break;
                case FAILED:
                  ran[2]++;
                  break;
                default:
                  throw new AssertionError("copy of " + sid + " still " + copy.state());
              }
            }
          }
        }
        for (TestHub h : List.of(a, b)) {
          String n = ClusterRig.nodeId(h);
          SessionCounts counts = h.server().sessions().counts();
          int[] expected = books.get(h);
          assertThat(counts.completed()).as("completed on %s", n).isEqualTo(expected[0]);
          assertThat(counts.cancelled()).as("cancelled on %s", n).isEqualTo(expected[1]);
          assertThat(counts.failed() + counts.cancelled())
              .as("failed + cancelled on %s", n)
              .isEqualTo(expected[2]);
        }

        // Both mirrors agree with Redis, and Redis with where the sockets really are.
        Map<String, String> expected = new java.util.TreeMap<>();
        devices.forEach(d -> expected.put(d.id, ClusterRig.nodeId(d.hub)));
        constellations.forEach(c -> expected.put(c.id, ClusterRig.nodeId(c.hub)));
        assertThat(rig.ownerNodes()).isEqualTo(expected);
        for (TestHub h : List.of(a, b)) {
          String n = ClusterRig.nodeId(h);
          ClusterNode cluster = ClusterRig.cluster(h);
          expected.forEach(
              (id, node) -> {
                if (node.equals(n)) {
                  assertThat(ClusterRig.holdsLocally(h, id)).as("%s held by %s", id, n).isTrue();
                } else {
                  assertThat(cluster.nodeOfClient(id))
                      .as("%s mirrored on %s", id, n)
                      .contains(node);
                }
              });
          assertThat(cluster.localClientIds())
              .containsExactlyInAnyOrderElementsOf(
                  expected.entrySet().stream()
                      .filter(e -> e.getValue().equals(n))
                      .map(Map.Entry::getKey)
                      .toList());
        }
        await()
            .atMost(ClusterRig.SYNC)
            .untilAsserted(
                () -> {
                  assertThat(rig.redis().hlen("hub:sessions")).as("session records").isZero();
                  assertThat(rig.redis().keys("hub:node-sessions:*")).isEmpty();
                });
        for (Device d : devices) {
          assertThat(d.peer.problems()).as(d.id).isEmpty();
        }
        for (Constellation c : constellations) {
          assertThat(c.peer.problems()).as(c.id).isEmpty();
        }
      } finally {
        senders.shutdownNow();
        for (Device d : devices) {
          if (d.peer != null) {
            d.peer.abort();
          }
        }
        for (Constellation c : constellations) {
          if (c.peer != null) {
            c.peer.abort();
          }
        }
      }
    }
  }
}
