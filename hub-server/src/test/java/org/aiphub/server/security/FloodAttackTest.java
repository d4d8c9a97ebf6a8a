package org.aiphub.server.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.aiphub.server.config.Settings.HANDSHAKE_TIMEOUT;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS;
import static org.aiphub.server.config.Settings.MAX_CONNECTIONS_PER_ADDRESS;
import static org.aiphub.server.config.Settings.REGISTRATIONS_PER_ADDRESS_PER_SECOND;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.server.testing.ClientFrames;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.PrometheusText;
import org.junit.jupiter.api.Test;

/**
 * Attack 12: floods. Sockets past {@code max_connections}, or past {@code
 * max_connections_per_address} from one source address, are refused at once with a pre-encoded 503
 * and a JSON reason, before a byte is read, and counted in {@code
 * hub_connections_refused_total{reason}}; upgrades from one address faster than {@code
 * registrations_per_address_per_second} get a 429, counted the same way and in {@code
 * hub_http_refusals_total{reason="rate"}}. The rate is checked before the key, so guessing keys
 * from one address is held to it too. Other addresses and the clients already in are not affected.
 * With the defaults (per-address limits off, the connection cap from the open-file limit) a hundred
 * sockets from loopback are all accepted.
 */
class FloodAttackTest {
  @Test
  void socketsPastMaxConnectionsAreRefusedWith503AndCounted() {
    // The holders must stay for the test's length: no handshake timeout cuts them meanwhile.
    try (Arena a =
        Arena.start(
            b -> b.set(MAX_CONNECTIONS, 10).set(HANDSHAKE_TIMEOUT, Duration.ofMinutes(1)))) {
      AdmissionControl admission = HubState.admission(a.hub().server());
      List<RawSocket> holders = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        holders.add(a.socket());
      }
      await().until(() -> admission.open() == 10);
      for (int i = 0; i < 20; i++) {
        RawSocket s = a.socket();
        if (i % 2 == 0) {
          // An upgrade with the right key is refused just the same: nothing is read.
          s.tryWrite(
              RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())).getBytes(UTF_8));
        }
        RawSocket.Reply r = s.readReply();
        assertThat(r.error(503)).isEqualTo("the hub holds its maximum number of connections");
        assertThat(r.headers())
            .containsEntry("retry-after", "5")
            .containsEntry("connection", "close");
        assertThat(s.closedByHub()).isTrue();
      }
      assertThat(refused(a, "too_many_connections")).isEqualTo(20.0);
      assertThat(admission.open()).isEqualTo(10);
      // Those already in are served as before.
      a.assertInnocentsUntouched();
      // A freed slot is taken again.
      holders.get(0).close();
      await().until(() -> admission.open() == 9);
      RawSocket again = a.socket();
      again.write(RawSocket.get("/healthz", RawSocket.host(a.hub())));
      assertThat(again.readReply().status()).isEqualTo(200);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void socketsPastThePerAddressLimitAreRefusedWhileOtherAddressesAreServed() {
    try (Arena a = Arena.start(b -> b.set(MAX_CONNECTIONS_PER_ADDRESS, 3))) {
      AdmissionControl admission = HubState.admission(a.hub().server());
      for (int i = 0; i < 3; i++) {
        a.socket("127.0.0.2");
      }
      await().until(() -> admission.open() == 5);
      for (int i = 0; i < 7; i++) {
        RawSocket s = a.socket("127.0.0.2");
        assertThat(s.readReply().error(503)).isEqualTo("too many connections from this address");
        assertThat(s.closedByHub()).isTrue();
      }
      assertThat(refused(a, "too_many_from_address")).isEqualTo(7.0);
      assertThat(refused(a, "too_many_connections")).isZero();
      // 127.0.0.1 holds two (the innocents) of its own three; another address holds none.
      for (String source : new String[] {"127.0.0.1", "127.0.0.3"}) {
        RawSocket s = a.socket(source);
        s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
        assertThat(s.readReply().status()).as("from %s", source).isEqualTo(101);
        s.write(RawSocket.text(ClientFrames.registerDevice("dev-" + source)));
        Clients.assertRegistered(s.readFrame().message());
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void upgradesFasterThanThePerAddressRateGet429() {
    int rate = 2;
    try (Arena a = Arena.start(b -> b.set(REGISTRATIONS_PER_ADDRESS_PER_SECOND, rate))) {
      long start = System.nanoTime();
      int accepted = 0;
      int refused = 0;
      for (int i = 0; i < 20; i++) {
        RawSocket s = a.socket("127.0.0.4");
        s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
        RawSocket.Reply r = s.readReply();
        if (r.status() == 101) {
          accepted++;
        } else {
          assertThat(r.error(429))
              .isEqualTo("too many registrations from this address; retry later");
          assertThat(r.headers()).containsEntry("retry-after", "1");
          assertThat(s.closedByHub()).isTrue();
          refused++;
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      assertThat(refused).isPositive();
      assertThat(refused(a, "too_many_registrations")).isEqualTo(refused);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "rate")).isEqualTo(refused);
      // A full bucket, plus what it refilled while the flood ran.
      assertThat(accepted).isBetween(rate, rate + (int) Math.ceil(seconds * rate) + 1);
      // Another address has its own bucket.
      RawSocket other = a.socket("127.0.0.5");
      other.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
      assertThat(other.readReply().status()).isEqualTo(101);
      // A rate, not a ban: the flooding address may upgrade again once its bucket refills.
      await()
          .pollInterval(Duration.ofMillis(250))
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> {
                RawSocket s = a.socket("127.0.0.4");
                s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
                return s.readReply().status() == 101;
              });
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void keyGuessesFromOneAddressAreHeldToTheUpgradeRateAndCounted() {
    int rate = 2;
    try (Arena a = Arena.start(b -> b.set(REGISTRATIONS_PER_ADDRESS_PER_SECOND, rate))) {
      String host = RawSocket.host(a.hub());
      long start = System.nanoTime();
      int unauthorized = 0;
      int limited = 0;
      for (int i = 0; i < 20; i++) {
        RawSocket s = a.socket("127.0.0.6");
        s.write(RawSocket.upgrade("/ws?token=guess-" + i, host));
        RawSocket.Reply r = s.readReply();
        if (r.status() == 401) {
          assertThat(r.error(401)).contains("missing or invalid API key");
          unauthorized++;
        } else {
          // Refused before its key was looked at: a 429 says nothing about the guess.
          assertThat(r.error(429))
              .isEqualTo("too many registrations from this address; retry later");
          assertThat(r.headers()).containsEntry("retry-after", "1");
          limited++;
        }
        assertThat(s.closedByHub()).isTrue();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      // Only a full bucket, plus what it refilled while the guesses ran, got a verdict on the key.
      assertThat(unauthorized).isBetween(rate, rate + (int) Math.ceil(seconds * rate) + 1);
      assertThat(limited).isEqualTo(20 - unauthorized).isPositive();
      // What a scraper sees: each refusal once, by its reason.
      assertThat(a.scraped("hub_http_refusals_total", "reason", "bad_key")).isEqualTo(unauthorized);
      assertThat(a.scraped("hub_http_refusals_total", "reason", "rate")).isEqualTo(limited);
      assertThat(a.scraped("hub_connections_refused_total", "reason", "too_many_registrations"))
          .isEqualTo(limited);
      // Another address has its own bucket: the right key upgrades from there at once.
      RawSocket other = a.socket("127.0.0.7");
      other.write(RawSocket.upgrade(RawSocket.wsTarget(), host));
      assertThat(other.readReply().status()).isEqualTo(101);
      other.write(RawSocket.text(ClientFrames.registerDevice("dev-127.0.0.7")));
      Clients.assertRegistered(other.readFrame().message());
      // A rate, not a ban: once the bucket refills, the right key upgrades from the guessing
      // address too.
      await()
          .pollInterval(Duration.ofMillis(250))
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> {
                RawSocket s = a.socket("127.0.0.6");
                s.write(RawSocket.upgrade(RawSocket.wsTarget(), host));
                return s.readReply().status() == 101;
              });
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void withTheDefaultsAHundredSocketsFromLoopbackAreAllAccepted() {
    try (Arena a = Arena.start()) {
      AdmissionControl admission = HubState.admission(a.hub().server());
      UnixOperatingSystemMXBean os =
          (UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      assertThat(admission.maxConnections())
          .isEqualTo(AdmissionControl.defaultMaxConnections())
          .isEqualTo((int) Math.max(64, os.getMaxFileDescriptorCount() - 100));
      List<RawSocket> sockets = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        RawSocket s = a.socket();
        s.write(RawSocket.upgrade(RawSocket.wsTarget(), RawSocket.host(a.hub())));
        sockets.add(s);
      }
      for (int i = 0; i < 100; i++) {
        assertThat(sockets.get(i).readReply().status()).as("socket %d", i).isEqualTo(101);
        sockets.get(i).write(RawSocket.text(ClientFrames.registerDevice("flood-" + i)));
      }
      for (RawSocket s : sockets) {
        Clients.assertRegistered(s.readFrame().message());
      }
      assertThat(a.registry().getStats().deviceClients()).isEqualTo(101);
      assertThat(admission.open()).isEqualTo(102);
      assertThat(refused(a, "too_many_connections") + refused(a, "too_many_from_address")).isZero();
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  private static double refused(Arena a, String reason) {
    List<PrometheusText.Sample> samples = PrometheusText.parse(a.hub().server().metrics().scrape());
    return PrometheusText.matching(samples, "hub_connections_refused_total", "reason", reason)
        .stream()
        .mapToDouble(PrometheusText.Sample::value)
        .sum();
  }
}
