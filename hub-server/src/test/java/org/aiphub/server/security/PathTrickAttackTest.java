package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.TestHub;
import org.junit.jupiter.api.Test;

/**
 * Attack 16: {@code task_name} path tricks. Names that climb ({@code ../x}, {@code ..%2fx}), are
 * absolute ({@code /etc/passwd}, {@code C:\}), hide ({@code .hidden}), nest ({@code a/b}) or hold
 * control characters are refused with 400 by {@code POST /api/dispatch}, which then sends the
 * device nothing and creates no session; {@code GET /api/task_result/...} refuses them too, in any
 * encoding.
 */
class PathTrickAttackTest {
  private static final List<String> TRICKS =
      List.of(
          "../x",
          "../../etc/passwd",
          "/etc/passwd",
          "..%2fx",
          "..%2F..%2Fx",
          "%2e%2e%2fx",
          ".hidden",
          ".",
          "..",
          "a/b",
          "a\\b",
          "..\\x",
          "C:\\Windows\\win.ini",
          "~root",
          "a\u0000b",
          "a\nb",
          "a b",
          "",
          "x".repeat(129));

  @Test
  void dispatchRefusesEveryPathTrickInTaskNameAndSendsNothing() {
    try (Arena a = Arena.start()) {
      Arena.Bookkeeping before = a.bookkeeping();
      for (String name : TRICKS) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("client_id", Arena.DEVICE);
        body.put("request", "read a file");
        body.put("task_name", name);
        assertThat(a.http().post("/api/dispatch", body).error(400))
            .as("task_name %s", name)
            .contains("task_name must be 1-128 characters");
      }
      for (Object notAString : List.of(7, List.of("x"), Map.of("path", "../x"), true)) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("client_id", Arena.DEVICE);
        body.put("request", "read a file");
        body.put("task_name", notAString);
        assertThat(a.http().post("/api/dispatch", body).error(400)).contains("task_name");
      }
      assertThat(a.bookkeeping()).isEqualTo(before);
      a.assertInnocentsUntouchedAndSessionCompletes();
      // A plain name is fine, so the refusals above were about the names alone.
      Map<String, Object> ok =
          a.http()
              .post(
                  "/api/dispatch",
                  Map.of("client_id", Arena.DEVICE, "request", "x", "task_name", "report-1.v2_x"))
              .ok(200);
      assertThat(ok).containsEntry("task_name", "report-1.v2_x");
    }
  }

  @Test
  void taskResultRefusesPathTricksInAnyEncoding() {
    try (Arena a = Arena.start()) {
      List<String> paths =
          List.of(
              "/api/task_result/..%2f..%2fx",
              "/api/task_result/..%2F..%2Fetc%2Fpasswd",
              "/api/task_result/%2e%2e%2f%2e%2e%2fx",
              "/api/task_result/%2fetc%2fpasswd",
              "/api/task_result/.hidden",
              "/api/task_result/..",
              "/api/task_result/a%2fb",
              "/api/task_result/a%5cb",
              "/api/task_result/%00x",
              "/api/task_result/x%0d%0aSet-Cookie:%20a=b");
      for (String path : paths) {
        HubHttp.Reply r = a.http().get(path);
        assertThat(r.error(400)).as(path).contains("invalid task_name");
      }
      // Unnormalised dot segments, sent raw (an HTTP client would squash them).
      for (String raw :
          List.of(
              "/api/task_result/../../etc/passwd",
              "/api/task_result/./../x",
              "/api/task_result//etc/passwd")) {
        RawSocket s = a.socket();
        s.write(
            RawSocket.get(
                raw, RawSocket.host(a.hub()), "X-API-Key: " + TestHub.KEY, "Connection: close"));
        RawSocket.Reply r = s.readReply();
        assertThat(r.error(400)).as(raw).contains("invalid task_name");
        assertThat(r.body()).doesNotContain("root:");
      }
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }
}
