package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.LogCapture;
import org.aiphub.server.testing.PrometheusText;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;

/**
 * Attack 15: log and header injection. Ids holding characters outside the documented safe set
 * (control characters, newlines, escapes, bidi overrides, spaces, quotes) are refused at
 * registration and in tasks; other client strings (task names, metadata, error texts) are accepted
 * but escaped wherever they are logged or echoed, so no log line holds a raw control character; and
 * no client string ever becomes a response header.
 */
class InjectionAttackTest {
  private static final List<String> BAD_IDS =
      List.of(
          "dev\nINFO org.aiphub.clients - register device admin from 10.0.0.1",
          "dev\r\nSet-Cookie: a=b",
          "dev\rover",
          "dev\u0000nul",
          "dev\u001b[2J\u001b[31mred",
          "dev\ttab",
          "dev\u007f",
          "dev\u0085next-line",
          "dev\u2028separator",
          "dev\u202eevil",
          "dev space",
          "dev'quote",
          "dev\"quote",
          "dev\\backslash");

  @Test
  void idsOutsideTheSafeSetAreRefusedAtRegistrationAndEchoedEscaped() {
    try (LogCapture logs = LogCapture.attach(Level.DEBUG, "ROOT");
        Arena a = Arena.start()) {
      for (String id : BAD_IDS) {
        for (String frame :
            List.of(
                JsonFrames.registerDevice(id, "linux", List.of()),
                JsonFrames.registerConstellation(id))) {
          WsClient c = a.connect();
          c.send(frame);
          ServerMessage refusal =
              Arena.assertError(c.next(), "holds a character outside letters, digits");
          assertThat(LogChecks.firstDangerous(refusal.error())).as(refusal.error()).isNegative();
          assertThat(c.awaitClose()).isEqualTo(CloseCodes.POLICY_VIOLATION);
        }
        // A target id or a session id is checked the same way.
        WsClient scoped = a.connect();
        scoped.send(Frames.registerConstellation("scoped-galaxy", id));
        ServerMessage refusal =
            Arena.assertError(scoped.next(), "target_id '" + id.substring(0, 3));
        assertThat(refusal.error()).contains("holds a character outside letters, digits");
        assertThat(LogChecks.firstDangerous(refusal.error())).as(refusal.error()).isNegative();
        scoped.awaitClose();
        a.owner().send(Frames.task(Arena.OWNER, Arena.DEVICE, id, "x"));
        ServerMessage badSession =
            Arena.assertError(a.owner().next(), "holds a character outside letters, digits");
        assertThat(LogChecks.firstDangerous(badSession.error())).isNegative();
        // The refused task ends for its sender under the id exactly as it sent it (JSON-escaped on
        // the wire), so it can tell which task ended; the hub logs and shows it nowhere.
        Arena.assertRefusalEnd(a.owner().next(), id, badSession.error());
      }
      assertThat(a.registry().listClients()).containsExactlyInAnyOrder(Arena.DEVICE, Arena.OWNER);
      a.assertInnocentsUntouchedAndSessionCompletes();
      LogChecks.assertNoRawControlCharacters(logs);
    }
  }

  @Test
  void taskNamesMetadataAndErrorTextsAreEscapedInLogs() {
    String forged = "\nINFO org.aiphub.sessions - session admin completed\r\n\u001b[2J\u2028";
    try (LogCapture logs = LogCapture.attach(Level.DEBUG, "ROOT");
        Arena a = Arena.start()) {
      Map<String, Object> register = Frames.of("register", "ok", "device", "mallory-dev");
      Map<String, Object> systemInfo = new LinkedHashMap<>();
      systemInfo.put("os" + forged, "x" + forged);
      systemInfo.put("supported_features", List.of("gui" + forged));
      register.put("metadata", Map.of("platform", "linux" + forged, "system_info", systemInfo));
      WsClient mallory = a.registered(Frames.json(register));
      WsClient owner = a.constellation("mallory-galaxy");

      Map<String, Object> task = Frames.of("task", "continue", "constellation", "mallory-galaxy");
      task.put("target_id", "mallory-dev");
      task.put("session_id", "inject-1");
      task.put("task_name", "report" + forged);
      task.put("request", "do it" + forged);
      owner.send(Frames.json(task));
      assertThat(owner.next().sessionId()).isEqualTo("inject-1");
      ServerMessage delivered = mallory.next();
      assertThat(delivered.taskName()).as("delivered as sent").isEqualTo("report" + forged);
      mallory.send(Frames.deviceError("mallory-dev", "inject-1", "boom" + forged));
      ServerMessage end = owner.next();
      assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
      assertThat(end.error()).isEqualTo("boom" + forged);

      // Unknown enum values and names are echoed to the sender escaped as well.
      mallory.send("{\"type\":\"heart\\nbeat\",\"status\":\"ok\"}");
      assertThat(LogChecks.firstDangerous(mallory.next().error())).isNegative();

      // The finished session was logged, with its task name and error escaped.
      List<String> sessionLines = logs.messages("org.aiphub.sessions");
      assertThat(sessionLines)
          .anySatisfy(l -> assertThat(l).contains("inject-1").contains("report\\u000a"));
      LogChecks.assertNoRawControlCharacters(logs);
      // Metrics stay well-formed: the parser fails on a broken line.
      PrometheusText.parse(a.hub().server().metrics().scrape());
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void noClientStringEverBecomesAResponseHeader() {
    try (Arena a = Arena.start()) {
      String crlf = "%0d%0aSet-Cookie:%20pwned=1%0d%0aX-Injected:%20yes";
      List<String> targets =
          List.of(
              "/api/devices/x" + crlf,
              "/api/sessions/x" + crlf,
              "/api/task_result/x" + crlf,
              "/api/sessions?client=x" + crlf,
              "/api/devices/select?platform=x" + crlf,
              "/nothing" + crlf,
              "/ws" + crlf,
              "/ws?token=x" + crlf);
      for (String target : targets) {
        RawSocket s = a.socket();
        s.write(
            RawSocket.get(
                target, RawSocket.host(a.hub()), "X-API-Key: " + TestHub.KEY, "Connection: close"));
        assertNoInjection(s.readReply(), target);
      }
      RawSocket ws = a.socket();
      ws.write(RawSocket.upgrade("/ws?token=x" + crlf, RawSocket.host(a.hub())));
      assertNoInjection(ws.readReply(), "upgrade");
      // Raw control characters in header values: refused, never reflected.
      RawSocket origin = a.socket();
      origin.write(
          RawSocket.upgrade(
              RawSocket.wsTarget(),
              RawSocket.host(a.hub()),
              "Origin: http://evil.example.com\u000bX-Injected: yes"));
      assertNoInjection(origin.readReply(), "origin");
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  private static void assertNoInjection(RawSocket.Reply r, String what) {
    assertThat(r.headers()).as("%s: %s", what, r).doesNotContainKeys("set-cookie", "x-injected");
    assertThat(r.head().toLowerCase(Locale.ROOT)).as(what).doesNotContain("pwned", "x-injected");
    assertThat(LogChecks.firstDangerous(r.body())).as("%s: %s", what, r.body()).isNegative();
    if (r.status() != 200) {
      assertThat(r.status()).as("%s: %s", what, r).isBetween(400, 499);
      r.error(r.status());
    }
  }
}
