package org.aiphub.core.aip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.aiphub.core.aip.AipDecodeException.Reason;
import org.junit.jupiter.api.Test;

/**
 * The per-frame token budget ({@code max_json_tokens}): a client frame of more JSON tokens than
 * allowed is refused while it is parsed, wherever the tokens are (a known field, an unknown one the
 * codec skips, the metadata or the result), so a frame of tiny values cannot make the hub build
 * millions of objects. Server frames are not counted.
 */
class AipCodecTokenBudgetTest {
  private static final String HEAD = "{\"type\":\"heartbeat\",\"status\":\"ok\",";

  /** {@code [0,0,...]} with {@code n} zeros: n + 2 tokens. */
  private static String zeros(int n) {
    return "[" + "0,".repeat(n - 1) + "0]";
  }

  @Test
  void aFrameUpToTheBudgetDecodesAndOneTokenMoreIsRefused() throws Exception {
    AipCodec codec = new AipCodec(64, 1000);
    // {, "type", "heartbeat", "status", "ok", "result", [ ... ], } : 7 tokens around the array.
    String fits = HEAD + "\"result\":" + zeros(1000 - 7 - 2) + "}";
    assertThat((List<?>) codec.decodeClient(fits).result()).hasSize(991);

    String over = HEAD + "\"result\":" + zeros(1000 - 7 - 1) + "}";
    AipDecodeException e =
        catchThrowableOfType(AipDecodeException.class, () -> codec.decodeClient(over));
    assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_TOKENS);
    assertThat(e.reason().label()).isEqualTo("too_many_tokens");
    assertThat(e.getMessage()).isEqualTo("frame has more than 1000 JSON tokens (max_json_tokens)");
    // The same from bytes, as the hub decodes them.
    assertThat(
            catchThrowableOfType(
                    AipDecodeException.class,
                    () -> codec.decodeClient(over.getBytes(StandardCharsets.UTF_8)))
                .reason())
        .isEqualTo(Reason.TOO_MANY_TOKENS);
  }

  @Test
  void tokensCountWhereverTheyAre() {
    AipCodec codec = new AipCodec(64, 500);
    for (String frame :
        List.of(
            HEAD + "\"junk\":" + zeros(600) + "}", // an unknown field, skipped unread
            HEAD + "\"metadata\":{\"system_info\":{\"supported_features\":" + zeros(600) + "}}}",
            HEAD + "\"action_results\":[{\"status\":\"success\",\"result\":" + zeros(600) + "}]}",
            "{\"type\":\"register\",\"status\":\"ok\",\"metadata\":{"
                + "\"k\":0,".repeat(300)
                + "\"z\":0}}")) {
      AipDecodeException e =
          catchThrowableOfType(AipDecodeException.class, () -> codec.decodeClient(frame));
      assertThat(e).as(frame.substring(0, 60)).isNotNull();
      assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_TOKENS);
    }
  }

  @Test
  void serverFramesAreNotCounted() throws Exception {
    AipCodec codec = new AipCodec(64, 100);
    String frame =
        "{\"type\":\"task_end\",\"status\":\"completed\",\"result\":" + zeros(5000) + "}";
    assertThat((List<?>) codec.decodeServer(frame).result()).hasSize(5000);
  }

  @Test
  void theDefaultBudgetRefusesAFourMegabyteFrameOfZeros() {
    AipCodec codec = new AipCodec();
    assertThat(codec.maxTokens()).isEqualTo(AipCodec.DEFAULT_MAX_TOKENS).isEqualTo(200_000);
    String frame = HEAD + "\"result\":" + zeros(2_000_000) + "}";
    assertThat(
            catchThrowableOfType(AipDecodeException.class, () -> codec.decodeClient(frame))
                .reason())
        .isEqualTo(Reason.TOO_MANY_TOKENS);
  }

  @Test
  void theBudgetMustBePositive() {
    assertThatThrownBy(() -> new AipCodec(64, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
