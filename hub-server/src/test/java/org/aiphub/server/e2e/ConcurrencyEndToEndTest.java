package org.aiphub.server.e2e;

import static org.aiphub.server.config.Settings.HISTORY_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
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
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionCounts;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.AipPeer;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The acceptance test: 200 devices and 20 constellations on one hub run 10,000 tasks while
 * a random tenth of the clients disconnect and reconnect. Afterwards every task has exactly one
 * outcome at its owner, no session is mapped any more, and the registry's counters equal its
 * contents.
 *
 * <p>Outcomes are sorted as the owner saw them: {@code completed} and {@code failed} arrived live
 * on the socket the task was sent on; {@code refused} is an error frame naming the session (its
 * device was offline), which a {@code task_end} {@code failed} with the same reason must follow at
 * once (and is not a second outcome); {@code held} arrived on a later socket of the same owner,
 * right after it registered again, so the hub held it meanwhile. Constellations leave with a close
 * handshake, so nothing written to them is lost; devices leave either way (a lost frame to a device
 * only turns into a {@code device_disconnected} failure).
 */
class ConcurrencyEndToEndTest {
  private static final int DEVICES = 200;
  private static final int CONSTELLATIONS = 20;
  private static final int TASKS = 10_000;
  private static final int WINDOW = 16;

  private final Queue<String> anomalies = new ConcurrentLinkedQueue<>();
  private final AtomicInteger sent = new AtomicInteger();
  private final AtomicInteger outcomes = new AtomicInteger();

  /** An outcome as its owner received it. */
  record Outcome(String kind, String error, Object result, int generation) {}

  /** A device id across its connections: it answers every task with {@code completed}. */
  final class Device {
    final String id;
    final AtomicInteger tasks = new AtomicInteger();
    final AtomicInteger cancels = new AtomicInteger();
    final AtomicInteger lateEnds = new AtomicInteger();
    volatile AipPeer peer;

    Device(String id) {
      this.id = id;
    }

    void connect(TestHub hub) throws Exception {
      AipPeer p = AipPeer.connect(hub.wsUri(), this::onMessage);
      p.send(ClientFrames.registerDevice(id));
      Clients.assertRegistered(p.first().get(10, TimeUnit.SECONDS));
      peer = p;
    }

    void onMessage(AipPeer p, ServerMessage m) {
      if (m.type() == ServerMessageType.TASK) {
        tasks.incrementAndGet();
        String sid = m.sessionId();
        String end =
            ClientFrames.taskEnd(
                id, sid, "{\"session_id\":\"" + sid + "\",\"device\":\"" + id + "\"}");
        // A little "work", so that disconnects find sessions running.
        long delay = ThreadLocalRandom.current().nextLong(4);
        CompletableFuture.runAsync(
            () -> p.send(end), CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS));
      } else if (m.type() == ServerMessageType.TASK_END) {
        if (!TaskRouter.CONSTELLATION_DISCONNECTED.equals(m.error())) {
          anomalies.add(id + " got an unexpected task_end " + m);
        }
        cancels.incrementAndGet();
      } else if (m.type() == ServerMessageType.ERROR) {
        if (m.sessionId() == null) {
          anomalies.add(id + " got an error " + m.error());
        }
        lateEnds.incrementAndGet(); // a result for a session that had ended meanwhile
      } else if (m.type() != ServerMessageType.HEARTBEAT) {
        anomalies.add(id + " got " + m);
      }
    }

    void reconnect(TestHub hub, boolean abort) throws Exception {
      AipPeer old = peer;
      if (abort) {
        old.abort();
      } else {
        old.closeCleanly().get(10, TimeUnit.SECONDS);
      }
      await().until(() -> !hub.server().registry().isOnline(id));
      connect(hub);
    }
  }

  /** A constellation id across its connections, with every outcome it received. */
  final class Constellation {
    final String id;
    final ReentrantLock lock = new ReentrantLock();
    final Semaphore window = new Semaphore(WINDOW);
    final Map<String, Integer> sentOn = new ConcurrentHashMap<>();
    final Map<String, Outcome> received = new ConcurrentHashMap<>();

    /** Refused tasks whose task_end has not come yet, with the refusal's text. */
    final Map<String, String> refusalsToEnd = new ConcurrentHashMap<>();

    volatile AipPeer peer;
    volatile int generation;

    Constellation(String id) {
      this.id = id;
    }

    void connect(TestHub hub) throws Exception {
      int gen = generation + 1;
      AipPeer p = AipPeer.connect(hub.wsUri(), (peer, m) -> onMessage(gen, m));
      p.send(ClientFrames.registerConstellation(id));
      Clients.assertRegistered(p.first().get(10, TimeUnit.SECONDS));
      generation = gen;
      peer = p;
    }

    void onMessage(int gen, ServerMessage m) {
      String sid = m.sessionId();
      if (m.type() == ServerMessageType.HEARTBEAT) {
        return; // the registration reply, or a task's ack
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
        String target = devices.get(random.nextInt(devices.size())).id;
        lock.lock();
        try {
          sentOn.put(sid, generation);
          peer.send(ClientFrames.task(id, target, sid, "run " + sid))
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

    void reconnect(TestHub hub) throws Exception {
      lock.lock();
      try {
        int code = peer.closeCleanly().get(10, TimeUnit.SECONDS);
        assertThat(code).as("%s closed", id).isEqualTo(1000);
        await().until(() -> !hub.server().registry().isOnline(id));
        connect(hub);
      } finally {
        lock.unlock();
      }
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void tenThousandTasksWhileATenthOfTheClientsComeAndGo() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    List<Device> devices = new ArrayList<>();
    List<Constellation> constellations = new ArrayList<>();
    ExecutorService senders = Executors.newFixedThreadPool(CONSTELLATIONS + 1);
    try (TestHub hub = TestHub.start(b -> b.set(HISTORY_SIZE, 4 * TASKS))) {
      for (int i = 0; i < DEVICES; i++) {
        Device d = new Device(String.format("dev-%03d", i));
        d.connect(hub);
        devices.add(d);
      }
      for (int i = 0; i < CONSTELLATIONS; i++) {
        Constellation c = new Constellation(String.format("galaxy-%02d", i));
        c.connect(hub);
        constellations.add(c);
      }
      ClientRegistry registry = hub.server().registry();
      SessionTable sessions = hub.server().sessions();
      assertThat(registry.getStats().total()).isEqualTo(DEVICES + CONSTELLATIONS);

      // A random tenth of each kind leaves and comes back, spread over the run.
      List<Object> leaving = new ArrayList<>();
      List<Device> shuffledDevices = new ArrayList<>(devices);
      Collections.shuffle(shuffledDevices, random);
      leaving.addAll(shuffledDevices.subList(0, DEVICES / 10));
      List<Constellation> shuffledOwners = new ArrayList<>(constellations);
      Collections.shuffle(shuffledOwners, random);
      leaving.addAll(shuffledOwners.subList(0, CONSTELLATIONS / 10));
      Collections.shuffle(leaving, random);

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
                for (int k = 0; k < leaving.size(); k++) {
                  int threshold = TASKS * (5 + 70 * k / leaving.size()) / 100;
                  await().atMost(Duration.ofSeconds(60)).until(() -> sent.get() >= threshold);
                  Object who = leaving.get(k);
                  if (who instanceof Device) {
                    ((Device) who).reconnect(hub, k % 2 == 0);
                  } else {
                    ((Constellation) who).reconnect(hub);
                  }
                }
                return null;
              });

      chaos.get(90, TimeUnit.SECONDS);
      for (Future<?> f : running) {
        f.get(90, TimeUnit.SECONDS);
      }
      await()
          .atMost(Duration.ofSeconds(60))
          .failFast("anomalies", () -> assertThat(anomalies).isEmpty())
          .until(() -> outcomes.get() == TASKS);
      // each refusal's task_end follows its error frame at once
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> constellations.stream().allMatch(c -> c.refusalsToEnd.isEmpty()));
      assertThat(anomalies).as("seed %d", seed).isEmpty();

      // ------------------------------------------------------------------ the owners' books
      int completed = 0;
      int failed = 0;
      int refused = 0;
      int held = 0;
      int heldCompleted = 0;
      int cancelled = 0;
      for (Constellation c : constellations) {
        assertThat(c.received.keySet()).as("outcomes of %s", c.id).isEqualTo(c.sentOn.keySet());
        for (Map.Entry<String, Outcome> e : c.received.entrySet()) {
          String sid = e.getKey();
          Outcome o = e.getValue();
          boolean later = o.generation() > c.sentOn.get(sid);
          Session session = sessions.get(sid).orElse(null);
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
                heldCompleted++;
              } else {
                completed++;
              }
              break;
            default:
              assertThat(o.error())
                  .as(sid)
                  .isIn(TaskRouter.DEVICE_DISCONNECTED, TaskRouter.CONSTELLATION_DISCONNECTED);
              if (TaskRouter.CONSTELLATION_DISCONNECTED.equals(o.error())) {
                assertThat(later).as("a cancellation waits for its owner: %s", sid).isTrue();
                assertThat(session.state()).as(sid).isEqualTo(SessionState.CANCELLED);
                cancelled++;
              } else {
                assertThat(session.state()).as(sid).isEqualTo(SessionState.FAILED);
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
          "concurrency (seed %d): sent %d = completed %d + failed %d + refused %d + held %d"
              + " (held: %d completed, %d cancelled, %d device_disconnected)%n",
          seed,
          sent.get(),
          completed,
          failed,
          refused,
          held,
          heldCompleted,
          cancelled,
          held - heldCompleted - cancelled);
      assertThat(sent.get()).isEqualTo(TASKS);
      assertThat(completed + failed + refused + held).as("sent").isEqualTo(TASKS);

      // ------------------------------------------------------------------- the hub's books
      SessionCounts counts = sessions.counts();
      assertThat(counts.running()).as("running sessions").isZero();
      assertThat(counts.held()).as("outcomes still held").isZero();
      assertThat(counts.completed()).isEqualTo(completed + heldCompleted);
      assertThat(counts.cancelled()).isEqualTo(cancelled);
      assertThat(counts.failed() + counts.cancelled()).isEqualTo(failed + held - heldCompleted);
      for (Device d : devices) {
        assertThat(registry.isDeviceConnected(d.id)).as(d.id).isTrue();
      }
      for (Constellation c : constellations) {
        assertThat(registry.getClientType(c.id)).as(c.id).contains(ClientType.CONSTELLATION);
      }
      assertThat(registry.listClients()).hasSize(DEVICES + CONSTELLATIONS);
      assertThat(registry.listClientsByType(ClientType.DEVICE)).hasSize(DEVICES);
      assertThat(registry.listClientsByType(ClientType.CONSTELLATION)).hasSize(CONSTELLATIONS);
      Clients.assertNoMappingsAndConsistent(registry);
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
