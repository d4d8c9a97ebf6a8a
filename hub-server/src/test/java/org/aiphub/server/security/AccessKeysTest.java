package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.aiphub.server.security.AccessKeys.Role;
import org.junit.jupiter.api.Test;

/** The one decision point for keys: which key a request presents, and what it grants. */
class AccessKeysTest {
  private static final String CLIENT = "client-key-0123456789";
  private static final String OPERATOR = "operator-key-0123456789";

  private final AccessKeys both = AccessKeys.of(CLIENT, OPERATOR);
  private final AccessKeys single = AccessKeys.of(CLIENT, null);

  private static Role role(AccessKeys keys, String... presented) {
    return keys.role(Arrays.asList(presented));
  }

  @Test
  void withAnOperatorKeyEachKeyOpensOneDoor() {
    assertThat(role(both, CLIENT)).isEqualTo(Role.CLIENT);
    assertThat(role(both, OPERATOR)).isEqualTo(Role.OPERATOR);
    assertThat(Role.CLIENT.connects()).isTrue();
    assertThat(Role.CLIENT.operates()).isFalse();
    assertThat(Role.OPERATOR.connects()).as("the operator key registers no client").isFalse();
    assertThat(Role.OPERATOR.operates()).isTrue();
    assertThat(both.separateOperatorKey()).isTrue();
  }

  @Test
  void withoutOneTheClientKeyOpensBothAsTheReferenceServersKeyDoes() {
    assertThat(role(single, CLIENT)).isEqualTo(Role.SHARED);
    assertThat(Role.SHARED.connects()).isTrue();
    assertThat(Role.SHARED.operates()).isTrue();
    assertThat(role(single, OPERATOR)).isEqualTo(Role.NONE);
    assertThat(single.separateOperatorKey()).isFalse();
  }

  @Test
  void noKeyAWrongKeyOrTwoDifferentKeysGrantNothing() {
    for (AccessKeys keys : new AccessKeys[] {both, single}) {
      assertThat(role(keys)).isEqualTo(Role.NONE);
      assertThat(role(keys, (String) null)).isEqualTo(Role.NONE);
      assertThat(role(keys, "")).isEqualTo(Role.NONE);
      assertThat(role(keys, "wrong-key-0123456789")).isEqualTo(Role.NONE);
      assertThat(role(keys, CLIENT.substring(1))).isEqualTo(Role.NONE);
      assertThat(role(keys, CLIENT + " ")).isEqualTo(Role.NONE);
      assertThat(role(keys, CLIENT, "wrong-key-0123456789")).isEqualTo(Role.NONE);
      assertThat(role(keys, "wrong-key-0123456789", CLIENT)).isEqualTo(Role.NONE);
    }
    assertThat(role(both, CLIENT, OPERATOR)).isEqualTo(Role.NONE);
    assertThat(role(both, OPERATOR, CLIENT)).isEqualTo(Role.NONE);
    assertThat(Role.NONE.connects()).isFalse();
    assertThat(Role.NONE.operates()).isFalse();
  }

  @Test
  void theSameKeyTwiceOrBesideEmptyValuesIsThatKey() {
    assertThat(role(both, CLIENT, CLIENT)).isEqualTo(Role.CLIENT);
    assertThat(role(both, "", OPERATOR, null)).isEqualTo(Role.OPERATOR);
  }

  @Test
  void theApiReadsEveryKeyHeaderAndNeverTheUrl() {
    assertThat(both.apiRole(headers("X-API-Key", OPERATOR))).isEqualTo(Role.OPERATOR);
    assertThat(both.apiRole(headers("Authorization", "Bearer " + OPERATOR)))
        .isEqualTo(Role.OPERATOR);
    assertThat(both.apiRole(headers("authorization", "bEaReR  " + OPERATOR + " ")))
        .isEqualTo(Role.OPERATOR);
    assertThat(both.apiRole(headers("X-API-Key", OPERATOR, "Authorization", "Bearer " + CLIENT)))
        .isEqualTo(Role.NONE);
    assertThat(both.apiRole(headers("X-API-Key", OPERATOR, "X-API-Key", CLIENT)))
        .isEqualTo(Role.NONE);
    assertThat(both.apiRole(headers("Authorization", OPERATOR)))
        .as("no scheme")
        .isEqualTo(Role.NONE);
    assertThat(both.apiRole(headers("Api-Key", OPERATOR))).isEqualTo(Role.NONE);
    assertThat(both.apiRole(headers())).isEqualTo(Role.NONE);
  }

  @Test
  void anUpgradeReadsTheTokenParameterAndTheBearerHeader() {
    Map<String, List<String>> bare = Map.of();
    assertThat(
            both.upgradeRole(headers(), new QueryStringDecoder("/ws?token=" + CLIENT).parameters()))
        .isEqualTo(Role.CLIENT);
    assertThat(both.upgradeRole(headers("Authorization", "Bearer " + CLIENT), bare))
        .isEqualTo(Role.CLIENT);
    assertThat(
            both.upgradeRole(
                headers(), new QueryStringDecoder("/ws?token=" + OPERATOR).parameters()))
        .isEqualTo(Role.OPERATOR);
    assertThat(
            both.upgradeRole(
                headers("Authorization", "Bearer " + OPERATOR),
                new QueryStringDecoder("/ws?token=" + CLIENT).parameters()))
        .isEqualTo(Role.NONE);
    assertThat(
            both.upgradeRole(
                headers(),
                new QueryStringDecoder("/ws?token=" + CLIENT + "&token=" + OPERATOR).parameters()))
        .isEqualTo(Role.NONE);
    assertThat(both.upgradeRole(headers("X-API-Key", CLIENT), bare))
        .as("the API's header is not the AIP one")
        .isEqualTo(Role.NONE);
  }

  @Test
  void refusalsAreTheSameWhateverWasPresentedAndNameTheKeyNeeded() {
    assertThat(single.operatorRefusal())
        .isEqualTo("missing or invalid API key: send X-API-Key: KEY");
    assertThat(both.operatorRefusal()).contains("operator key (admin_key)", "not the client key");
    assertThat(both.clientRefusal()).contains("the operator key does not open WebSocket");
    assertThat(both.toString()).doesNotContain(CLIENT).doesNotContain(OPERATOR);
  }

  private static HttpHeaders headers(String... namesAndValues) {
    HttpHeaders h = new DefaultHttpHeaders();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      h.add(namesAndValues[i], namesAndValues[i + 1]);
    }
    return h;
  }
}
