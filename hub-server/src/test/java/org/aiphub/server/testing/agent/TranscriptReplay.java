package org.aiphub.server.testing.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiphub.server.testing.WsClient;

/**
 * Plays a transcript recorded against the real reference server (test resources {@code
 * agent-transcripts/}) against another server and lists every difference: each recorded client
 * frame is sent as it was, each recorded server frame must arrive on the same socket, equal after
 * masking what differs run to run.
 *
 * <p>Masked: timestamps; uuids, which are paired recorded-to-live on first sight and must stay
 * paired (a live uuid then replaces its recorded twin in later client frames, e.g. in {@code
 * prev_response_id}); the words of pydantic's validation messages. Frames a server sent within
 * {@link #BURST_MILLIS} of each other on one socket, with nothing sent on it in between, may arrive
 * in either order (the reference runs each frame and each session as its own asyncio task). Pauses
 * between client actions are replayed, capped at {@link #MAX_PAUSE}.
 */
public final class TranscriptReplay {
  static final double BURST_MILLIS = 3.0;
  private static final Set<String> ACTIONS =
      Set.of("open", "send", "close", "abort", "http_request");
  static final Duration MAX_PAUSE = Duration.ofMillis(600);
  private static final Pattern UUID_RE =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  private static final Pattern VALIDATION =
      Pattern.compile("^\\d+ validation errors? for ClientMessage");

  private final URI endpoint;
  private final Map<String, WsClient> sockets = new HashMap<>();
  private final Set<String> endedByUs = new HashSet<>();
  private final Map<String, String> liveToRecorded = new HashMap<>();
  private final Map<String, String> recordedToLive = new HashMap<>();
  private final List<String> problems = new ArrayList<>();

  /** Recorded server frames already matched as part of an earlier burst. */
  private final Set<Integer> consumed = new HashSet<>();

  private TranscriptReplay(URI endpoint) {
    this.endpoint = endpoint;
  }

  /** The events of transcript {@code name} ({@code agent-transcripts/NAME.json}). */
  public static List<JsonNode> events(String name) {
    try (InputStream in =
        TranscriptReplay.class.getResourceAsStream("/agent-transcripts/" + name + ".json")) {
      if (in == null) {
        throw new IllegalArgumentException("no transcript " + name);
      }
      List<JsonNode> out = new ArrayList<>();
      ReferenceFrames.JSON.readTree(in).get("events").forEach(out::add);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Replays transcript {@code name} against {@code endpoint} (with its key); the differences. */
  public static List<String> replay(String name, URI endpoint) {
    TranscriptReplay r = new TranscriptReplay(endpoint);
    try {
      r.run(events(name));
    } finally {
      r.sockets.forEach(
          (label, c) -> {
            if (!r.endedByUs.contains(label) && !c.isClosed()) {
              c.abort();
            }
          });
    }
    return r.problems;
  }

  private void run(List<JsonNode> events) {
    double lastT = 0;
    for (int i = 0; i < events.size(); i++) {
      JsonNode e = events.get(i);
      String dir = e.path("dir").asText();
      String label = e.path("socket").asText();
      double t = e.path("t_ms").asDouble();
      if (ACTIONS.contains(dir)) {
        pause(Math.max(0, t - lastT));
      }
      lastT = t;
      switch (dir) {
        case "open" -> sockets.put(label, WsClient.connect(endpoint));
        case "send" -> send(label, e);
        case "recv" -> {
          if (!consumed.contains(i)) {
            receive(events, i);
          }
          if (!problems.isEmpty()) {
            return; // later frames would only differ for the same reason
          }
        }
        case "close" -> {
          endedByUs.add(label);
          sockets.get(label).close();
        }
        case "abort" -> {
          endedByUs.add(label);
          sockets.get(label).abort();
        }
        case "closed" -> {
          if (!endedByUs.contains(label)) {
            int code = sockets.get(label).awaitClose();
            if (code != e.path("code").asInt()) {
              problems.add(label + ": closed with " + code + ", recorded " + e.path("code"));
            }
          }
        }
        case "http_request" -> http(e, events.get(i + 1));
        default -> {
          // notes, http_response (read by http_request), harness errors
        }
      }
    }
    for (Map.Entry<String, WsClient> s : sockets.entrySet()) {
      if (!endedByUs.contains(s.getKey()) && !s.getValue().isClosed()) {
        pause(50);
        if (s.getValue().pending() > 0) {
          problems.add(s.getKey() + ": " + s.getValue().pending() + " frames more than recorded");
        }
      }
    }
  }

  private static void pause(double millis) {
    try {
      Thread.sleep((long) Math.min(millis, MAX_PAUSE.toMillis()));
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
  }

  private void send(String label, JsonNode e) {
    String text = e.path("raw").asText();
    Matcher m = UUID_RE.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, recordedToLive.getOrDefault(m.group(), m.group()));
    }
    m.appendTail(out);
    if (e.path("kind").asText().equals("binary")) {
      sockets.get(label).sendBinary(out.toString().getBytes(StandardCharsets.UTF_8));
    } else {
      sockets.get(label).send(out.toString());
    }
  }

  /** Matches the burst of recorded frames on one socket that starts at {@code from}. */
  private void receive(List<JsonNode> events, int from) {
    String label = events.get(from).path("socket").asText();
    List<String> burst = new ArrayList<>();
    double first = events.get(from).path("t_ms").asDouble();
    for (int i = from; i < events.size(); i++) {
      JsonNode e = events.get(i);
      if (ACTIONS.contains(e.path("dir").asText())) {
        break; // what follows may depend on it
      }
      if (!e.path("socket").asText().equals(label)) {
        continue;
      }
      if (!e.path("dir").asText().equals("recv")
          || e.path("t_ms").asDouble() - first > BURST_MILLIS) {
        break;
      }
      burst.add(e.path("raw").asText());
      consumed.add(i);
    }
    List<String> live = new ArrayList<>();
    for (int k = 0; k < burst.size(); k++) {
      live.add(sockets.get(label).nextText());
    }
    for (String recorded : burst) {
      String match = null;
      for (String l : live) {
        if (matches(recorded, l, false)) {
          match = l;
          break;
        }
      }
      if (match == null) {
        problems.add(label + ": recorded " + recorded + "\n   live " + live);
        return;
      }
      matches(recorded, match, true);
      live.remove(match);
    }
  }

  private boolean matches(String recorded, String live, boolean commit) {
    List<String> r = uuids(recorded);
    List<String> l = uuids(live);
    if (r.size() != l.size()) {
      return false;
    }
    Map<String, String> pairs = new LinkedHashMap<>();
    for (int k = 0; k < r.size(); k++) {
      String known = liveToRecorded.get(l.get(k));
      String knownLive = recordedToLive.get(r.get(k));
      String pairedHere = pairs.get(l.get(k));
      if (known != null && !known.equals(r.get(k))
          || knownLive != null && !knownLive.equals(l.get(k))
          || pairedHere != null && !pairedHere.equals(r.get(k))) {
        return false;
      }
      pairs.put(l.get(k), r.get(k));
    }
    String liveAsRecorded = live;
    for (Map.Entry<String, String> p : pairs.entrySet()) {
      liveAsRecorded = liveAsRecorded.replace(p.getKey(), p.getValue());
    }
    boolean same = normalized(recorded).equals(normalized(liveAsRecorded));
    if (same && commit) {
      pairs.forEach(
          (lv, rv) -> {
            liveToRecorded.put(lv, rv);
            recordedToLive.put(rv, lv);
          });
    }
    return same;
  }

  private static List<String> uuids(String s) {
    List<String> out = new ArrayList<>();
    Matcher m = UUID_RE.matcher(s);
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }

  private static String normalized(String raw) {
    JsonNode n;
    try {
      n = ReferenceFrames.JSON.readTree(raw);
    } catch (IOException e) {
      return raw;
    }
    if (n instanceof ObjectNode o) {
      if (o.has("timestamp") && o.get("timestamp").isTextual()) {
        o.put("timestamp", "<timestamp>");
      }
      if (o.path("error").isTextual() && VALIDATION.matcher(o.get("error").asText()).find()) {
        o.put("error", "<pydantic validation message>");
      }
    }
    return ReferenceFrames.text(n);
  }

  private void http(JsonNode request, JsonNode response) {
    String raw =
        request
            .path("raw")
            .asText()
            .replaceFirst("Host: [^\r\n]+", "Host: 127.0.0.1:" + endpoint.getPort());
    try (Socket s = new Socket(endpoint.getHost(), endpoint.getPort())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(raw.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      String want = response.path("raw").asText();
      for (String line :
          List.of(statusLine(want), "Content-Length", "Content-Type", "Connection")) {
        String w = header(want, line);
        String g = header(got, line);
        if (!w.equalsIgnoreCase(g)) {
          problems.add(
              request.path("socket").asText() + ": HTTP " + line + " " + g + ", recorded " + w);
        }
      }
    } catch (IOException e) {
      problems.add(request.path("socket").asText() + ": " + e);
    }
  }

  private static String statusLine(String response) {
    return response.lines().findFirst().orElse("");
  }

  private static String header(String response, String name) {
    if (name.startsWith("HTTP/")) {
      return statusLine(response);
    }
    return response
        .lines()
        .filter(l -> l.regionMatches(true, 0, name + ":", 0, name.length() + 1))
        .map(l -> l.substring(name.length() + 1).trim())
        .findFirst()
        .orElse("<absent>");
  }
}
