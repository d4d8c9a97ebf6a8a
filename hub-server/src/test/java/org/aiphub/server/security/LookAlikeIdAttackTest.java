package org.aiphub.server.security;

import static org.aiphub.server.config.Settings.DEVICE_CONFIG;
import static org.aiphub.server.config.Settings.PROBE_TIMEOUT;
import static org.aiphub.server.config.Settings.UNICODE_IDS;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.config.HubConfig;
import org.aiphub.server.netty.CloseCodes;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.HubHttp;
import org.aiphub.server.testing.JsonFrames;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attack 13 (issue 13, finding 9): look-alike client ids. A device that knows only the shared key
 * registers under an id that <em>looks</em> like one with its own credential ({@code token_sha256}
 * on {@code device_windows_001}) or like a live device's, to be mistaken for it in the API, the
 * dashboard and the logs. Sixteen look-alikes (letter case, Cyrillic and Greek o, small capital O,
 * mathematical bold letters, full-width and Arabic-Indic digits, Hangul fillers, an id of fillers
 * only, a Hebrew prefix, zero-width space and joiner, a right-to-left override, a soft hyphen, a
 * no-break space) and NFC/NFD pairs: under the default rule every one gets a registration error and
 * close 1008 and registers nothing; under {@code unicode_ids: true} every confusable is refused,
 * NFC and NFD forms are one id, and a genuinely distinct Japanese id registers and works. The
 * arena's innocents are untouched throughout.
 */
class LookAlikeIdAttackTest {
  private static final String PROTECTED = "device_windows_001";
  private static final String TOKEN = "look-alike-test-token-0123456789";
  private static final String LIVE = "office_pc_042";
  private static final String JAPANESE = "デバイス一号";
  private static final Duration PROBE = Duration.ofSeconds(5);

  /**
   * One look-alike of an id.
   *
   * @param what what it does
   * @param id the id
   * @param asciiReason part of the default rule's refusal
   * @param unicodeReason part of the {@code unicode_ids} rule's refusal
   */
  record LookAlike(String what, String id, String asciiReason, String unicodeReason) {
    @Override
    public String toString() {
      return what;
    }
  }

  private static final String NOT_ASCII = "(ids are ASCII unless unicode_ids is on)";
  private static final String CONFUSABLE = "look-alike ids are refused";
  private static final String INVISIBLE = "an invisible or formatting character";
  private static final String NOT_RECOMMENDED = "not a recommended identifier character";
  private static final String MIXED_SCRIPTS = "mixes scripts";
  private static final String MIXED_DIRECTIONS = "mixes left-to-right and right-to-left";

  /**
   * The sixteen look-alikes of {@code base}, which must hold a lower-case {@code o} and end in
   * digits ({@code device_windows_001}, {@code office_pc_042}).
   */
  static List<LookAlike> lookAlikes(String base) {
    int o = base.indexOf('o');
    int firstUnderscore = base.indexOf('_');
    String word = base.substring(0, firstUnderscore);
    String digits = base.replaceAll("^.*?([0-9]+)$", "$1");
    String stem = base.substring(0, base.length() - digits.length());
    int mid = firstUnderscore + 2;
    return List.of(
        new LookAlike(
            "upper case", base.toUpperCase(Locale.ROOT), "differs only in letter case", CONFUSABLE),
        new LookAlike("Cyrillic o", swap(base, o, "\u043E"), NOT_ASCII, MIXED_SCRIPTS),
        new LookAlike("Greek omicron", swap(base, o, "\u03BF"), NOT_ASCII, MIXED_SCRIPTS),
        new LookAlike(
            "small capital O U+1D0F", swap(base, o, "\u1D0F"), NOT_ASCII, NOT_RECOMMENDED),
        new LookAlike(
            "mathematical bold letters",
            bold(word) + base.substring(firstUnderscore),
            NOT_ASCII,
            NOT_RECOMMENDED),
        new LookAlike(
            "full-width digits", stem + shifted(digits, 0xFF10), NOT_ASCII, NOT_RECOMMENDED),
        new LookAlike(
            "Arabic-Indic digits", stem + shifted(digits, 0x0660), NOT_ASCII, MIXED_DIRECTIONS),
        new LookAlike("Hangul filler U+3164", base + "\u3164", NOT_ASCII, INVISIBLE),
        new LookAlike("halfwidth Hangul filler U+FFA0", base + "\uFFA0", NOT_ASCII, INVISIBLE),
        new LookAlike("fillers only (renders blank)", "\u3164\u3164\u3164", NOT_ASCII, INVISIBLE),
        new LookAlike("Hebrew prefix", "\u05D0\u05D1_" + base, NOT_ASCII, MIXED_DIRECTIONS),
        new LookAlike(
            "zero-width space", swap(base, mid, base.charAt(mid) + "\u200B"), NOT_ASCII, INVISIBLE),
        new LookAlike(
            "zero-width joiner",
            swap(base, mid, base.charAt(mid) + "\u200D"),
            NOT_ASCII,
            INVISIBLE),
        new LookAlike(
            "right-to-left override of the reversed id",
            "\u202E" + new StringBuilder(base).reverse(),
            NOT_ASCII,
            INVISIBLE),
        new LookAlike(
            "soft hyphen", swap(base, mid, base.charAt(mid) + "\u00AD"), NOT_ASCII, INVISIBLE),
        new LookAlike(
            "trailing no-break space",
            base + "\u00A0",
            NOT_ASCII,
            "outside letters, digits and ._-:@/+=#~: U+00A0"));
  }

  private static String swap(String s, int at, String with) {
    return s.substring(0, at) + with + s.substring(at + 1);
  }

  private static String bold(String lowerAscii) {
    StringBuilder b = new StringBuilder();
    lowerAscii.chars().forEach(c -> b.appendCodePoint(0x1D41A + (c - 'a'))); // MATHEMATICAL BOLD
    return b.toString();
  }

  private static String shifted(String asciiDigits, int zero) {
    StringBuilder b = new StringBuilder();
    asciiDigits.chars().forEach(c -> b.appendCodePoint(zero + (c - '0')));
    return b.toString();
  }

  private static Path devices(Path dir) throws Exception {
    Path file = dir.resolve("devices.json");
    Files.writeString(
        file,
        "{\"devices\":{\""
            + PROTECTED
            + "\":{\"tier\":\"gold\",\"token_sha256\":\""
            + ClientTokens.sha256Hex(TOKEN)
            + "\"},\"caf\u00e9-device\":{\"token_sha256\":\""
            + ClientTokens.sha256Hex(TOKEN)
            + "\"}}}");
    return file;
  }

  private static UnaryOperator<HubConfig.Builder> config(Path devices, boolean unicode) {
    return b -> b.set(DEVICE_CONFIG, devices).set(PROBE_TIMEOUT, PROBE).set(UNICODE_IDS, unicode);
  }

  /** {@code frame} gets an error containing {@code reason}, close 1008, and nothing else. */
  private static ServerMessage assertRefused(Arena a, String frame, String reason) {
    WsClient attacker = a.connect();
    attacker.send(frame);
    ServerMessage error = Arena.assertError(attacker.next(), reason);
    assertThat(error.error()).as("escaped: %s", error.error()).matches("[\\x20-\\x7e]*");
    assertThat(attacker.awaitClose()).as(frame).isEqualTo(CloseCodes.POLICY_VIOLATION);
    assertThat(Clients.drain(attacker)).as("nothing after the refusal").isEmpty();
    return error;
  }

  private static void assertEveryLookAlikeRefused(
      Arena a, String base, boolean unicode, Set<String> online) {
    for (LookAlike l : lookAlikes(base)) {
      String reason = unicode ? l.unicodeReason() : l.asciiReason();
      // as a device without the token, as a device with it, and as a constellation
      assertRefused(a, Frames.registerDevice(l.id(), null), reason);
      assertRefused(a, Frames.registerDevice(l.id(), TOKEN), reason);
      assertRefused(a, JsonFrames.registerConstellation(l.id()), reason);
      assertThat(a.registry().listClients())
          .as(l.what())
          .containsExactlyInAnyOrderElementsOf(online);
    }
  }

  /** A client registered with {@code frame}, whatever spelling of its id the frame uses. */
  private static WsClient registerAs(Arena a, String frame) {
    WsClient c = a.connect();
    c.send(frame);
    Clients.assertRegistered(c.next());
    return c;
  }

  private static List<String> onlineIds(Arena a) {
    Map<String, Object> clients = a.http().get("/api/clients").ok(200);
    @SuppressWarnings("unchecked")
    List<String> ids = (List<String>) clients.get("online_clients");
    return ids;
  }

  @Test
  void underTheDefaultRuleEveryLookAlikeIsRefused(@TempDir Path dir) throws Exception {
    try (Arena a = Arena.start(config(devices(dir), false))) {
      a.device(LIVE);
      Set<String> online = Set.of(Arena.DEVICE, Arena.OWNER, LIVE);

      // The protected id is offline: its look-alikes are refused all the same.
      assertEveryLookAlikeRefused(a, PROTECTED, false, online);
      assertEveryLookAlikeRefused(a, LIVE, false, online);

      // Now the real device_windows_001 is online, with its token.
      WsClient real = a.registered(Frames.registerDevice(PROTECTED, TOKEN));
      Set<String> withReal = Set.of(Arena.DEVICE, Arena.OWNER, LIVE, PROTECTED);
      assertEveryLookAlikeRefused(a, PROTECTED, false, withReal);

      // NFC and NFD forms are both non-ASCII: neither registers.
      for (String id :
          List.of("caf\u00e9-01", "cafe\u0301-01", "\uD55C-01", "\u1112\u1161\u11AB-01")) {
        assertRefused(a, Frames.registerDevice(id, null), NOT_ASCII);
      }
      // A look-alike target, session id or HTTP path finds nothing.
      assertRefused(
          a, Frames.registerConstellation("mallory-galaxy", "device_wind\u043Ews_001"), NOT_ASCII);

      assertThat(onlineIds(a)).containsExactlyInAnyOrderElementsOf(withReal);
      assertThat(a.scraped("hub_registrations_total", "outcome", "look_alike_id"))
          .isEqualTo(3 * 3); // the upper-case one, three times per round
      Arena.assertOnlyAnswer(real, PROTECTED);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  @Test
  void underUnicodeIdsEveryConfusableIsRefusedAndADistinctNameRegisters(@TempDir Path dir)
      throws Exception {
    try (Arena a = Arena.start(config(devices(dir), true))) {
      a.device(LIVE);
      Set<String> online = Set.of(Arena.DEVICE, Arena.OWNER, LIVE);
      assertEveryLookAlikeRefused(a, PROTECTED, true, online);
      assertEveryLookAlikeRefused(a, LIVE, true, online);

      // Confusables that pass every character rule are caught by their skeleton: ASCII
      // homoglyphs, and a whole-script Cyrillic spelling of a live Latin id.
      a.device("scope-1");
      List<String> skeletonOnly =
          List.of(
              "device_windows_OO1",
              "device_windows_00l",
              "Device_Windows_001",
              "office_pc_O42",
              "\u0455\u0441\u043E\u0440\u0435-1", // Cyrillic "scope-1"
              "scope-l",
              "SCOPE-I");
      for (String id : skeletonOnly) {
        assertRefused(a, Frames.registerDevice(id, null), "is confusable with");
      }
      Set<String> withScope = Set.of(Arena.DEVICE, Arena.OWNER, LIVE, "scope-1");

      // NFC and NFD are one id: the stored form is NFC.
      a.device("caf\u00e9-01");
      assertRefused(a, Frames.registerDevice("cafe\u0301-01", null), "is already registered");
      registerAs(a, Frames.registerDevice("\u1112\u1161\u11AB-01", null)); // jamo: stored composed
      assertThat(a.registry().getClientInfo("\uD55C-01")).isPresent();
      assertRefused(a, Frames.registerDevice("\uD55C-01", null), "is already registered");
      // The NFD spelling of a protected NFC id needs that id's token, and is that id with it.
      assertRefused(
          a, Frames.registerDevice("cafe\u0301-device", null), "requires its own credential");
      WsClient cafe = registerAs(a, Frames.registerDevice("cafe\u0301-device", TOKEN));
      assertThat(a.registry().getClientInfo("caf\u00e9-device")).isPresent();
      assertThat(a.registry().getClientInfo("cafe\u0301-device")).isEmpty();
      cafe.send(Frames.heartbeat("cafe\u0301-device")); // either spelling is its own id
      assertThat(cafe.next().type()).isEqualTo(ServerMessageType.HEARTBEAT);

      // The real device_windows_001 comes online; its look-alikes stay refused.
      a.registered(Frames.registerDevice(PROTECTED, TOKEN));
      assertEveryLookAlikeRefused(
          a,
          PROTECTED,
          true,
          Set.of(
              Arena.DEVICE,
              Arena.OWNER,
              LIVE,
              "scope-1",
              "caf\u00e9-01",
              "\uD55C-01",
              "caf\u00e9-device",
              PROTECTED));

      // A genuinely distinct Japanese device and a Galaxy constellation named after a Japanese
      // task register and work end to end.
      WsClient japanese = a.device(JAPANESE);
      String galaxyId = "週報@" + JAPANESE;
      WsClient galaxy = a.registered(Frames.registerConstellation(galaxyId, JAPANESE));
      galaxy.send(JsonFrames.task(galaxyId, JAPANESE, "週報@t1", "weekly_report", "集計して"));
      ServerMessage ack = galaxy.next();
      assertThat(ack.type()).as("ack %s", ack).isEqualTo(ServerMessageType.HEARTBEAT);
      assertThat(ack.sessionId()).isEqualTo("週報@t1");
      ServerMessage task = japanese.next();
      assertThat(task.type()).isEqualTo(ServerMessageType.TASK);
      assertThat(task.userRequest()).isEqualTo("集計して");

      // The API shows non-ASCII ids as JSON escapes: the bytes are ASCII, the values exact.
      HubHttp.Reply clients = a.http().get("/api/clients");
      assertThat(clients.body()).matches("[\\x00-\\x7f]*").contains("\\u30C7", "\\u00E9");
      assertThat(onlineIds(a))
          .contains(JAPANESE, galaxyId, "caf\u00e9-01", "caf\u00e9-device")
          .doesNotContain("cafe\u0301-01", "cafe\u0301-device")
          .containsAll(withScope);
      assertThat(a.http().get("/api/devices").body()).matches("[\\x00-\\x7f]*");
      // The NFD spelling of a path finds the NFC device.
      assertThat(a.http().get("/api/devices/cafe%CC%81-device").ok(200))
          .containsEntry("device_id", "caf\u00e9-device");

      assertThat(a.scraped("hub_registrations_total", "outcome", "look_alike_id"))
          .isGreaterThanOrEqualTo(skeletonOnly.size() + 3 * 3);
      a.assertInnocentsUntouchedAndSessionCompletes();
    }
  }

  /** Helpers used by both tests, kept honest. */
  @Test
  void theSixteenLookAlikesAreWhatTheyClaim() {
    List<LookAlike> all = new ArrayList<>(lookAlikes(PROTECTED));
    assertThat(all).hasSize(16);
    assertThat(all.stream().map(LookAlike::id)).doesNotHaveDuplicates().doesNotContain(PROTECTED);
    assertThat(all.get(4).id())
        .isEqualTo(
            "\uD835\uDC1D\uD835\uDC1E\uD835\uDC2F\uD835\uDC22\uD835\uDC1C\uD835\uDC1E_windows_001");
    assertThat(all.get(5).id()).isEqualTo("device_windows_\uFF10\uFF10\uFF11");
    assertThat(all.get(6).id()).isEqualTo("device_windows_\u0660\u0660\u0661");
    assertThat(lookAlikes(LIVE).get(1).id()).isEqualTo("\u043Effice_pc_042");
  }
}
