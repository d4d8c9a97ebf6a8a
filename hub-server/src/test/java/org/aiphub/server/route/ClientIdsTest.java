package org.aiphub.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.aiphub.core.aip.ClientMessage;
import org.aiphub.core.aip.ClientMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.LookAlikeClientException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** The id rule: ASCII by default, the Unicode opt-in, stored forms and fold keys. */
class ClientIdsTest {
  private static final ClientIds ASCII = ClientIds.ascii();
  private static final ClientIds UNICODE = ClientIds.unicode();

  /** What UFO's and Galaxy's reference clients generate, and ids people give devices. */
  static Stream<String> referenceClientIds() {
    return Stream.of(
        "d",
        "client_001", // ufo.client.client's default --client-id
        "device_windows_001", // the README's and Galaxy's devices.yaml example
        "device_linux_002",
        "weekly_report@device_windows_001", // Galaxy: <task_name>@<device_id>
        "request_20251125_143022@device_windows_001", // Galaxy's generated task name
        "interactive_task_3@device_windows_001",
        "demo_task_0@device_windows_001",
        "weekly_report@t1", // Galaxy session ids: <task_name>@<task_id>
        "request_20251125_143022@9f3c2a1e-4b7d-4e2a-9c1f-0a1b2c3d4e5f", // TaskStar uuid ids
        "9f3c2a1e-4b7d-4e2a-9c1f-0a1b2c3d4e5f", // uuid session ids the hub generates
        "WIN-7QK2M3N4P5R", // a Windows host name
        "build-agent-07.corp.example.com", // an FQDN
        "t1@task-7",
        "a.b_c-d:e@f/g+h=i#j~k",
        "._-:@/+=#~",
        "0123456789");
  }

  @ParameterizedTest
  @MethodSource("referenceClientIds")
  void referenceClientIdsAreAcceptedByBothRulesAndStoredAsSent(String id) {
    assertThat(ASCII.problem("client_id", id)).isNull();
    assertThat(ASCII.canonical(id)).isSameAs(id);
    assertThat(UNICODE.problem("client_id", id)).isNull();
    assertThat(UNICODE.canonical(id)).isSameAs(id);
  }

  @Test
  void lengthIsOneTo256Characters() {
    for (ClientIds ids : List.of(ASCII, UNICODE)) {
      assertThat(ids.problem("client_id", "x".repeat(256))).isNull();
      assertThat(ids.problem("client_id", "x".repeat(257)))
          .isEqualTo("client_id is longer than 256 characters");
      assertThat(ids.problem("client_id", "設".repeat(257)))
          .isEqualTo("client_id is longer than 256 characters");
    }
    assertThat(ClientIds.MAX_LENGTH).isEqualTo(256);
  }

  @ParameterizedTest
  @NullAndEmptySource
  void missingIdsAreRefused(String id) {
    assertThat(ASCII.problem("session_id", id)).isEqualTo("session_id must be a non-empty string");
    assertThat(UNICODE.problem("session_id", id))
        .isEqualTo("session_id must be a non-empty string");
  }

  /** Refused by both rules: not letters, digits or the listed punctuation in any script. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "a b",
        " ",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\u0000b",
        "a\u007fb",
        "a'b",
        "a\"b",
        "a\\b",
        "a;b",
        "a,b",
        "a<b>",
        "<img src=x onerror=alert(1)>",
        "a%20b",
        "a?b",
        "a&b",
        "a*b",
        "a!b",
        "a$b",
        "a|b",
        "a(b)",
        "a[b]",
        "a{b}",
        "a`b",
        "a^b",
        "a\u00a0b", // no-break space
        "a\u2028b", // line separator
        "\uD83D\uDE00", // emoji: not a letter
        "\uD800" // lone surrogate
      })
  void everythingElseIsRefused(String id) {
    for (ClientIds ids : List.of(ASCII, UNICODE)) {
      String problem = ids.problem("client_id", ids.canonical(id));
      assertThat(problem)
          .startsWith("client_id '")
          .contains(" holds a character outside letters, digits and ._-:@/+=#~: U+");
      assertThat(problem).as("the id is escaped").doesNotContain("\n", "\t", "\u0000", "\u2028");
      assertThat(problem).as("printable ASCII only").matches("[\\x20-\\x7e]*");
    }
  }

  @Test
  void theProblemNamesWhatWasCheckedAndTheCharacter() {
    assertThat(ASCII.problem("target_id", "a b"))
        .isEqualTo(
            "target_id 'a b' holds a character outside letters, digits and ._-:@/+=#~: U+0020");
    assertThat(ASCII.problem("client_id", "device_wind\u043ews_001"))
        .isEqualTo(
            "client_id 'device_wind\\u043ews_001' holds a character outside letters, digits and"
                + " ._-:@/+=#~: U+043E (ids are ASCII unless unicode_ids is on)");
  }

  @Nested
  class DefaultRule {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "设备一号",
          "Gerät-ß",
          "устройство",
          "١٢٣",
          "\uD835\uDC9C\uD835\uDC9C", // MATHEMATICAL SCRIPT CAPITAL A
          "device_wind\u043Ews_001",
          "device_windows_\uFF10\uFF10\uFF11",
          "\u3164\u3164\u3164",
          "caf\u00e9"
        })
    void nonAsciiIdsAreRefused(String id) {
      assertThat(ASCII.canonical(id)).isSameAs(id);
      assertThat(ASCII.problem("client_id", id))
          .contains(" holds a character outside letters, digits and ._-:@/+=#~: U+")
          .endsWith("(ids are ASCII unless unicode_ids is on)");
    }

    @Test
    void foldKeysIgnoreCaseOnly() {
      assertThat(ASCII.keys("Device_Windows_001")).containsExactly("device_windows_001");
      assertThat(ASCII.keys("DEVICE_WINDOWS_001")).isEqualTo(ASCII.keys("device_windows_001"));
      assertThat(ASCII.keys("device_windows_OO1")).isNotEqualTo(ASCII.keys("device_windows_001"));
      assertThat(ASCII.allowsUnicode()).isFalse();
    }

    @Test
    void framesAreLeftAlone() {
      ClientMessage m = register("cafe\u0301");
      assertThat(ASCII.canonical(m)).isSameAs(m);
    }

    @Test
    void aLookAlikeRefusalSaysItIsAboutCase() {
      assertThat(
              ASCII.lookAlikeReason(
                  new LookAlikeClientException("DEV-1", "dev-1", null, false, "registry text")))
          .isEqualTo(
              "client_id 'DEV-1' differs only in letter case from the online client id 'dev-1';"
                  + " look-alike ids are refused");
      assertThat(
              ASCII.lookAlikeReason(
                  new LookAlikeClientException("DEV-1", "dev-1", null, true, "registry text")))
          .contains("a client id that has its own credential in the device config")
          .doesNotContain("'dev-1'");
    }
  }

  @Nested
  class UnicodeRule {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "设备一号", // Han
          "デバイス一号", // Japanese: Katakana and Han count as one
          "週報@device_windows_001", // Galaxy id with a Japanese task name
          "주간보고@device_windows_001", // Korean task name
          "устройство", // Cyrillic alone
          "συσκευή-7", // Greek alone
          "Gerät-ß", // Latin with diacritics
          "١٢٣", // Arabic-Indic digits alone
          "جهاز_1", // Arabic letters with ASCII digits
          "מכשיר-1", // Hebrew
          "café"
        })
    void lettersAndDigitsOfAnyScriptAreAccepted(String id) {
      assertThat(UNICODE.problem("client_id", UNICODE.canonical(id))).isNull();
      assertThat(UNICODE.allowsUnicode()).isTrue();
    }

    @Test
    void theStoredFormIsNfc() {
      String nfc = "caf\u00e9";
      String nfd = "cafe\u0301";
      assertThat(UNICODE.canonical(nfd)).isEqualTo(nfc);
      assertThat(UNICODE.canonical(nfc)).isSameAs(nfc);
      // Hangul: conjoining jamo compose to syllables
      assertThat(UNICODE.canonical("\u1112\u1161\u11ab")).isEqualTo("\ud55c");
      // a form that skipped canonical() fails closed
      assertThat(UNICODE.problem("client_id", nfd)).contains("is not in Unicode normal form C");
    }

    @Test
    void framesGetTheirIdFieldsInStoredFormAndNothingElseChanges() {
      ClientMessage m =
          ClientMessage.builder(ClientMessageType.TASK, TaskStatus.CONTINUE)
              .clientId("cafe\u0301@dev")
              .targetId("de\u0301v")
              .sessionId("se\u0301ss")
              .taskName("cafe\u0301 stays")
              .request("re\u0301quest stays")
              .build();
      ClientMessage c = UNICODE.canonical(m);
      assertThat(c.clientId()).isEqualTo("caf\u00e9@dev");
      assertThat(c.targetId()).isEqualTo("d\u00e9v");
      assertThat(c.sessionId()).isEqualTo("s\u00e9ss");
      assertThat(c.taskName()).isEqualTo(m.taskName());
      assertThat(c.request()).isEqualTo(m.request());
      ClientMessage ascii = register("device_windows_001");
      assertThat(UNICODE.canonical(ascii)).isSameAs(ascii);
    }

    static Stream<Object[]> refusedIds() {
      return Stream.of(
          new Object[] {
            "device_wind\u1D0Fws_001", "not a recommended identifier character: U+1D0F"
          },
          new Object[] {
            "\uD835\uDC1D\uD835\uDC1E\uD835\uDC2F_001",
            "not a recommended identifier character: U+1D41D"
          },
          new Object[] {
            "device_windows_\uFF10\uFF10\uFF11", "not a recommended identifier character: U+FF10"
          },
          new Object[] {"device_windows_001\u3164", "an invisible or formatting character: U+3164"},
          new Object[] {"device_windows_001\uFFA0", "an invisible or formatting character: U+FFA0"},
          new Object[] {"\u3164\u3164\u3164", "an invisible or formatting character: U+3164"},
          new Object[] {"a\u200Bb", "an invisible or formatting character: U+200B"},
          new Object[] {"a\u200Db", "an invisible or formatting character: U+200D"},
          new Object[] {"\u202Edevice", "an invisible or formatting character: U+202E"},
          new Object[] {"a\u00ADb", "an invisible or formatting character: U+00AD"},
          new Object[] {"device_wind\u043Ews_001", "mixes scripts"},
          new Object[] {"device_wind\u03BFws_001", "mixes scripts"},
          new Object[] {"отчёт@device_windows_001", "mixes scripts"},
          new Object[] {"\u05D0_device_windows_001", "mixes left-to-right and right-to-left"},
          new Object[] {"device_windows_\u0660\u0660\u0661", "mixes left-to-right and right-to"},
          new Object[] {"\u0661\u06F2", "mixes digits of different number systems"},
          new Object[] {"a\u0301\u0301", "render invisibly"});
    }

    @ParameterizedTest
    @MethodSource("refusedIds")
    void lookAlikeMaterialIsRefusedWithTheReason(String id, String reason) {
      String problem = UNICODE.problem("client_id", UNICODE.canonical(id));
      assertThat(problem).as(id).isNotNull().startsWith("client_id '").contains(reason);
      assertThat(problem).as("printable ASCII only").matches("[\\x20-\\x7e]*");
    }

    @Test
    void confusablesShareAFoldKey() {
      List<String> real = UNICODE.keys("device_windows_001");
      for (String lookAlike :
          List.of(
              "DEVICE_WINDOWS_001",
              "device_wind\u043Ews_001", // Cyrillic o
              "device_wind\u03BFws_001", // Greek omicron
              "device_wind\u1D0Fws_001", // small capital O
              "\uD835\uDC1D\uD835\uDC1E\uD835\uDC2F\uD835\uDC22\uD835\uDC1C\uD835\uDC1E_windows_001",
              "device_windows_\uFF10\uFF10\uFF11", // full-width digits
              "device_windows_OO1",
              "device_windows_ool",
              "device_windows_00I",
              "Device_Windows_001")) {
        assertThat(UNICODE.keys(lookAlike)).as(lookAlike).containsAnyElementsOf(real);
      }
      assertThat(UNICODE.keys("dev-m")).containsAnyElementsOf(UNICODE.keys("dev-rn"));
      assertThat(UNICODE.keys("caf\u00e9")).isEqualTo(UNICODE.keys("CAF\u00c9"));
      // genuinely different ids do not collide
      assertThat(UNICODE.keys("デバイス一号")).doesNotContainAnyElementsOf(real);
      assertThat(UNICODE.keys("device_windows_002")).doesNotContainAnyElementsOf(real);
      assertThat(UNICODE.keys("9f3c2a1e-4b7d-4e2a-9c1f-0a1b2c3d4e5f"))
          .doesNotContainAnyElementsOf(UNICODE.keys("9f3c2a1e-4b7d-4e2a-9c1f-0a1b2c3d4e5e"));
    }

    @Test
    void aLookAlikeRefusalSaysItIsAboutConfusables() {
      assertThat(
              UNICODE.lookAlikeReason(
                  new LookAlikeClientException(
                      "device_wind\u043Ews_001", "device_windows_001", null, true, "x")))
          .isEqualTo(
              "client_id 'device_wind\\u043ews_001' is confusable with a client id that has its"
                  + " own credential in the device config (Unicode UTS 39 skeleton, ignoring"
                  + " case); look-alike ids are refused");
    }
  }

  private static ClientMessage register(String id) {
    return ClientMessage.builder(ClientMessageType.REGISTER, TaskStatus.OK).clientId(id).build();
  }
}
