package org.aiphub.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.junit.jupiter.api.Test;

/** Session summaries: bounded in size whatever a session holds, and in the work to build them. */
class JsonViewsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private static Session session(String taskName, String request, Object result, String error) {
    return new Session(
        "s1",
        1,
        "owner",
        "device",
        taskName,
        request,
        SessionState.FAILED,
        T0,
        T0.plusSeconds(1),
        result,
        error,
        false);
  }

  @Test
  void shortValuesAreShownWholeAndNothingIsMarkedCut() {
    Map<String, Object> m =
        JsonViews.summary(session("t", "open it", Map.of("n", 1), "broke"), T0.plusSeconds(2));
    assertThat(m)
        .containsEntry("task_name", "t")
        .containsEntry("request_preview", "open it")
        .containsEntry("request_chars", 7)
        .containsEntry("result_preview", "{\"n\":1}")
        .containsEntry("error", "broke")
        .containsEntry("truncated", List.of())
        .containsEntry("duration_ms", 1000L)
        .doesNotContainKeys("request", "result");
    assertThat(JsonViews.summary(session(null, null, "plain text", null), T0))
        .containsEntry("request_preview", null)
        .containsEntry("request_chars", 0)
        .containsEntry("result_preview", "plain text");
  }

  @Test
  void longValuesAreCutToThePreviewLengthAndNamed() {
    String big = "y".repeat(100_000);
    Map<String, Object> m =
        JsonViews.summary(session(big, big, List.of(big, big), big), T0.plusSeconds(2));
    for (String field : List.of("task_name", "request_preview", "result_preview", "error")) {
      assertThat((String) m.get(field))
          .as(field)
          .hasSize(JsonViews.PREVIEW_CHARS)
          .endsWith(JsonViews.ELLIPSIS);
    }
    assertThat((String) m.get("result_preview")).startsWith("[\"yyy");
    assertThat(m.get("request_chars")).isEqualTo(100_000);
    assertThat(m.get("truncated")).isEqualTo(List.of("task_name", "error", "request", "result"));
  }

  @Test
  void aCutNeverSplitsASurrogatePair() {
    String emoji = "\uD83D\uDE00"; // one code point, two chars
    String text = "a".repeat(JsonViews.PREVIEW_CHARS - 2) + emoji + "tail";
    String preview =
        (String) JsonViews.summary(session(null, text, null, null), T0).get("request_preview");
    assertThat(preview).endsWith("a" + JsonViews.ELLIPSIS).doesNotContain("\uD83D");
    assertThat(preview.length()).isLessThanOrEqualTo(JsonViews.PREVIEW_CHARS);
  }

  /**
   * The preview of a large result is written only as far as it needs: a list that fails past its
   * first elements is never read that far.
   */
  @Test
  void aPreviewReadsOnlyTheStartOfALargeResult() {
    List<Object> huge =
        new AbstractList<>() {
          @Override
          public Object get(int index) {
            if (index > 1_000) {
              throw new AssertionError("read element " + index + " for a preview");
            }
            return "element-" + index;
          }

          @Override
          public int size() {
            return 10_000_000;
          }
        };
    List<String> truncated = new ArrayList<>();
    String preview = JsonViews.resultPreview(huge, truncated);
    assertThat(preview).startsWith("[\"element-0\",\"element-1\"").hasSize(JsonViews.PREVIEW_CHARS);
    assertThat(truncated).containsExactly("result");
  }
}
