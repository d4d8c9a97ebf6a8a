package org.aiphub.server.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.server.security.AdmissionControl;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HandshakeGuardTest {
  private static final String KEY = "s3cret-key";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<ChannelHandlerContext> installs = new ArrayList<>();
  private final EmbeddedChannel channel = new EmbeddedChannel();

  {
    channel
        .pipeline()
        .addLast(
            ChannelHandlerNames.HANDSHAKE_GUARD,
            new HandshakeGuard(
                "/ws",
                ApiKey.of(KEY),
                ctx -> {
                  installs.add(ctx);
                  ctx.pipeline()
                      .addAfter(ctx.name(), "ws-marker", new ChannelInboundHandlerAdapter());
                }));
  }

  private static FullHttpRequest upgrade(String uri) {
    FullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri, Unpooled.buffer(0));
    req.headers()
        .set(HttpHeaderNames.HOST, "127.0.0.1:5000")
        .set(HttpHeaderNames.UPGRADE, "websocket")
        .set(HttpHeaderNames.CONNECTION, "Upgrade")
        .set(HttpHeaderNames.SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
    return req;
  }

  private static FullHttpRequest request(HttpMethod method, String uri) {
    FullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri, Unpooled.buffer(0));
    req.headers().set(HttpHeaderNames.HOST, "127.0.0.1:5000");
    return req;
  }

  /** Sends {@code req}, expects a JSON refusal with {@code status}, and returns its error text. */
  private String refused(FullHttpRequest req, HttpResponseStatus status) throws Exception {
    assertFalse(channel.writeInbound(req), "a refused request goes no further");
    assertThat(req.refCnt()).as("the request is released").isZero();
    FullHttpResponse r = channel.readOutbound();
    try {
      assertThat(r.status()).isEqualTo(status);
      assertThat(r.headers().get(HttpHeaderNames.CONTENT_TYPE))
          .isEqualTo("application/json; charset=utf-8");
      assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
      assertThat(r.headers().getInt(HttpHeaderNames.CONTENT_LENGTH))
          .isEqualTo(r.content().readableBytes());
      JsonNode body = JSON.readTree(r.content().toString(UTF_8));
      assertThat(body.isObject()).isTrue();
      assertThat(body.size()).isEqualTo(1);
      assertThat(body.get("error").isTextual()).isTrue();
      if (status == HttpResponseStatus.UNAUTHORIZED) {
        assertThat(r.headers().get(HttpHeaderNames.WWW_AUTHENTICATE)).isEqualTo("Bearer");
      } else {
        assertThat(r.headers().contains(HttpHeaderNames.WWW_AUTHENTICATE)).isFalse();
      }
      if (status == HttpResponseStatus.UPGRADE_REQUIRED) {
        assertThat(r.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION)).isEqualTo("13");
      } else {
        assertThat(r.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_VERSION)).isFalse();
      }
      return body.get("error").asText();
    } finally {
      r.release();
      assertThat(installs).as("no upgrade handlers").isEmpty();
      assertThat(channel.pipeline().get("ws-marker")).isNull();
      assertThat(channel.isOpen()).as("closed after the refusal").isFalse();
      assertThat(channel.<Object>readOutbound()).isNull();
    }
  }

  /** Sends {@code req} and expects it to be accepted and passed on. */
  private void accepted(FullHttpRequest req) {
    channel.writeInbound(req);

    assertThat(installs).hasSize(1);
    assertThat(channel.pipeline().get(HandshakeGuard.class)).as("the guard stepped out").isNull();
    assertThat(channel.pipeline().get("ws-marker")).isNotNull();
    assertThat(channel.<Object>readInbound()).isSameAs(req);
    // The handshaker matches exactly the AIP path: that is the URI the request goes on with.
    assertThat(req.uri()).isEqualTo("/ws");
    assertThat(req.refCnt()).isEqualTo(1);
    req.release();
    assertThat(channel.<Object>readOutbound()).isNull();
    assertThat(channel.isOpen()).isTrue();
    assertFalse(channel.finish());
  }

  @Test
  void withoutKeyTheUpgradeIsRefusedWith401() throws Exception {
    String error = refused(upgrade("/ws"), HttpResponseStatus.UNAUTHORIZED);

    assertThat(error).contains("API key");
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"/ws?token=wrong", "/ws?token=", "/ws?token=S3CRET-KEY", "/ws?key=s3cret-key"})
  void aWrongKeyInTheQueryIsRefusedWith401(String uri) throws Exception {
    refused(upgrade(uri), HttpResponseStatus.UNAUTHORIZED);
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"Bearer wrong", "Basic czNjcmV0LWtleQ==", "s3cret-key", "Bearer", "Bearer "})
  void aWrongAuthorizationHeaderIsRefusedWith401(String header) throws Exception {
    FullHttpRequest req = upgrade("/ws");
    req.headers().set(HttpHeaderNames.AUTHORIZATION, header);

    refused(req, HttpResponseStatus.UNAUTHORIZED);
    assertFalse(channel.finish());
  }

  @Test
  void theKeyInTheQueryIsAccepted() {
    accepted(upgrade("/ws?token=" + KEY));
  }

  @Test
  void aUrlEncodedKeyInTheQueryIsAccepted() {
    installs.clear();
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline().addLast(new HandshakeGuard("/ws", ApiKey.of("a b+c"), ctx -> installs.add(ctx)));
    FullHttpRequest req = upgrade("/ws?token=a%20b%2Bc");

    ch.writeInbound(req);

    assertThat(installs).hasSize(1);
    assertThat(ch.<Object>readInbound()).isSameAs(req);
    req.release();
    assertFalse(ch.finish());
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Bearer s3cret-key",
        "bearer s3cret-key",
        "BEARER s3cret-key",
        "Bearer  s3cret-key "
      })
  void theKeyAsBearerTokenIsAccepted(String header) {
    FullHttpRequest req = upgrade("/ws");
    req.headers().set(HttpHeaderNames.AUTHORIZATION, header);

    accepted(req);
  }

  @Test
  void otherMethodsOnTheWsPathAreRefusedWith405() throws Exception {
    FullHttpRequest req =
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1,
            HttpMethod.POST,
            "/ws?token=" + KEY,
            Unpooled.copiedBuffer("x", UTF_8));
    req.headers().set(HttpHeaderNames.HOST, "127.0.0.1:5000");

    String error = refused(req, HttpResponseStatus.METHOD_NOT_ALLOWED);

    assertThat(error).contains("GET");
    assertFalse(channel.finish());
  }

  @Test
  void aGetWithoutUpgradeIsRefusedWith400() throws Exception {
    FullHttpRequest req = request(HttpMethod.GET, "/ws?token=" + KEY);

    String error = refused(req, HttpResponseStatus.BAD_REQUEST);

    assertThat(error).contains("WebSocket upgrade");
    assertFalse(channel.finish());
  }

  // Netty's handshaker refuses these itself, after the guard has installed the WebSocket handlers:
  // a plain-text 400 without a length, or an empty 426 that leaves the socket open and half
  // upgraded. The guard must refuse them first, with its JSON errors.

  @ParameterizedTest
  @ValueSource(strings = {"", "keep-alive", "close", "Upgrade-Insecure"})
  void anUpgradeWithoutConnectionUpgradeIsRefusedWith400(String connection) throws Exception {
    FullHttpRequest req = upgrade("/ws?token=" + KEY);
    if (connection.isEmpty()) {
      req.headers().remove(HttpHeaderNames.CONNECTION);
    } else {
      req.headers().set(HttpHeaderNames.CONNECTION, connection);
    }

    String error = refused(req, HttpResponseStatus.BAD_REQUEST);

    assertThat(error).contains("Connection: Upgrade");
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "h2c", "websocket, foo", "websocket2"})
  void anUpgradeNotExactlyToWebSocketIsRefusedWith400(String upgrade) throws Exception {
    FullHttpRequest req = upgrade("/ws?token=" + KEY);
    if (upgrade.isEmpty()) {
      req.headers().remove(HttpHeaderNames.UPGRADE);
    } else {
      req.headers().set(HttpHeaderNames.UPGRADE, upgrade);
    }

    String error = refused(req, HttpResponseStatus.BAD_REQUEST);

    assertThat(error).contains("Upgrade: websocket");
    assertFalse(channel.finish());
  }

  @Test
  void connectionUpgradeAmongOtherTokensIsAccepted() {
    FullHttpRequest req = upgrade("/ws?token=" + KEY);
    req.headers().set(HttpHeaderNames.CONNECTION, "keep-alive, Upgrade");

    accepted(req);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "8", "7", "0", "14", "13, 8"})
  void anUpgradeOfAnotherWebSocketVersionIsRefusedWith426(String version) throws Exception {
    FullHttpRequest req = upgrade("/ws?token=" + KEY);
    if (version.isEmpty()) {
      req.headers().remove(HttpHeaderNames.SEC_WEBSOCKET_VERSION);
    } else {
      req.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, version);
    }

    String error = refused(req, HttpResponseStatus.UPGRADE_REQUIRED);

    assertThat(error).contains("Sec-WebSocket-Version: 13");
    assertFalse(channel.finish());
  }

  // QueryStringDecoder throws on these; the exception handler then logged an "unexpected error"
  // with its stack trace and closed the socket without an answer.
  @ParameterizedTest
  @ValueSource(
      strings = {
        "/ws%zz",
        "/ws%",
        "/ws%e",
        "/ws?token=%zz",
        "/ws?token=" + KEY + "&x=%",
        "/api/clients%zz",
        "/%",
        "/healthz?a=%e"
      })
  void aUriWithABadPercentEscapeIsRefusedWith400(String uri) throws Exception {
    String error = refused(upgrade(uri), HttpResponseStatus.BAD_REQUEST);

    assertThat(error).contains("malformed request URI");
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"/api/clients", "/", "/metrics", "/wss", "/ws/", "/ws/extra", "/healthz?token=x"})
  void otherPathsPassThroughUntouched(String uri) {
    FullHttpRequest req = upgrade(uri);

    channel.writeInbound(req);

    assertThat(channel.<Object>readInbound()).isSameAs(req);
    assertThat(req.refCnt()).isEqualTo(1);
    req.release();
    assertThat(installs).isEmpty();
    assertThat(channel.pipeline().get(HandshakeGuard.class)).as("still guarding").isNotNull();
    assertThat(channel.<Object>readOutbound()).isNull();
    assertThat(channel.isOpen()).isTrue();
    assertFalse(channel.finish());
  }

  @Test
  void messagesThatAreNotRequestsPassThrough() {
    ByteBuf raw = Unpooled.copiedBuffer("raw", UTF_8);

    channel.writeInbound(raw);

    assertThat(channel.<Object>readInbound()).isSameAs(raw);
    assertThat(raw.refCnt()).isEqualTo(1);
    raw.release();
    assertFalse(channel.finish());
  }

  @Test
  void refusalsForHostOriginAndKeyAreReportedWithTheirReason() throws Exception {
    List<RequestRefusal> reported = new ArrayList<>();
    FullHttpRequest[] requests = {
      upgrade("/ws?token=wrong"),
      withHeader(upgrade("/ws?token=" + KEY), HttpHeaderNames.HOST, "evil.example.com"),
      withHeader(upgrade("/ws?token=" + KEY), HttpHeaderNames.ORIGIN, "http://evil.example.com"),
      upgrade("/w%73?token=" + KEY),
      request(HttpMethod.GET, "/ws?token=" + KEY)
    };
    for (FullHttpRequest req : requests) {
      EmbeddedChannel ch = new EmbeddedChannel();
      ch.pipeline()
          .addLast(
              new HandshakeGuard(
                  "/ws",
                  ApiKey.of(KEY),
                  installs::add,
                  new OriginPolicy(List.of(), List.of(), "127.0.0.1"),
                  new AdmissionControl(Integer.MAX_VALUE, 0, 0, System::nanoTime),
                  reported::add));
      ch.writeInbound(req);
      FullHttpResponse r = ch.readOutbound();
      r.release();
      assertFalse(ch.finish());
    }
    // The last one (a GET that is no upgrade, with the right key) is a client error, not an
    // access refusal; the one before it is malformed (the AIP path in another spelling).
    assertThat(reported)
        .containsExactly(
            RequestRefusal.BAD_KEY,
            RequestRefusal.BAD_HOST,
            RequestRefusal.BAD_ORIGIN,
            RequestRefusal.BAD_REQUEST);
    assertThat(installs).isEmpty();
    assertFalse(channel.finish());
  }

  private static FullHttpRequest withHeader(FullHttpRequest req, CharSequence name, String value) {
    req.headers().set(name, value);
    return req;
  }

  // Issue 13, finding 5: the guard decoded these to /ws and installed the WebSocket handlers, the
  // handshaker compared the raw URI and let them by unanswered, and a second request on the socket
  // was then upgraded with no check at all.
  @ParameterizedTest
  @ValueSource(
      strings = {
        "/w%73?token=" + KEY,
        "/%77s?token=" + KEY,
        "/%77%73",
        "/ws#x?token=" + KEY,
        "/w%73?token=wrong"
      })
  void anotherSpellingOfTheAipPathIsRefusedWith400(String uri) throws Exception {
    String error = refused(upgrade(uri), HttpResponseStatus.BAD_REQUEST);

    assertThat(error).contains("/ws").contains("spelled exactly");
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "", "two"})
  void anHttp11RequestWithoutExactlyOneHostIsRefusedWith400(String host) throws Exception {
    for (String uri : List.of("/ws?token=" + KEY, "/api/clients", "/healthz")) {
      EmbeddedChannel ch = new EmbeddedChannel();
      ch.pipeline().addLast(new HandshakeGuard("/ws", ApiKey.of(KEY), installs::add));
      FullHttpRequest req = upgrade(uri);
      if (host.equals("two")) {
        req.headers().add(HttpHeaderNames.HOST, "127.0.0.1:5001");
      } else if (host.equals("none")) {
        req.headers().remove(HttpHeaderNames.HOST);
      } else {
        req.headers().set(HttpHeaderNames.HOST, host);
      }

      assertFalse(ch.writeInbound(req), "refused: %s".formatted(uri));
      FullHttpResponse r = ch.readOutbound();
      assertThat(r.status()).as(uri).isEqualTo(HttpResponseStatus.BAD_REQUEST);
      assertThat(r.content().toString(UTF_8)).as(uri).contains("Host");
      r.release();
      assertThat(ch.isOpen()).isFalse();
      assertFalse(ch.finish());
    }
    assertThat(installs).isEmpty();
    assertFalse(channel.finish());
  }

  @Test
  void anHttp10RequestNeedsNoHost() {
    FullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/healthz");

    channel.writeInbound(req);

    assertThat(channel.<Object>readInbound()).isSameAs(req);
    req.release();
    assertFalse(channel.finish());
  }

  @ParameterizedTest
  @ValueSource(strings = {"/ws?token=" + KEY, "/api/clients"})
  void aRequestThatDidNotDecodeIsRefusedWith400WhateverItsPath(String uri) throws Exception {
    FullHttpRequest req = upgrade(uri);
    req.setDecoderResult(DecoderResult.failure(new IllegalArgumentException("bad header")));

    assertThat(refused(req, HttpResponseStatus.BAD_REQUEST)).contains("malformed HTTP request");
    assertFalse(channel.finish());
  }

  // Issue 13, finding 10a: an empty key is absent; every key presented must be the key.
  @ParameterizedTest
  @ValueSource(
      strings = {
        "/ws?token=|Bearer " + KEY,
        "/ws?token=" + KEY + "|Bearer ",
        "/ws?token=" + KEY + "|Bearer " + KEY,
        "/ws?token=&token=" + KEY + "|",
        "/ws?token=" + KEY + "|Basic czNjcmV0LWtleQ=="
      })
  void anEmptyKeyBesideTheRightOneIsAccepted(String uriAndAuthorization) {
    String[] parts = uriAndAuthorization.split("\\|", -1);
    FullHttpRequest req = upgrade(parts[0]);
    if (!parts[1].isEmpty()) {
      req.headers().set(HttpHeaderNames.AUTHORIZATION, parts[1]);
    }

    accepted(req);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/ws?token=" + KEY + "|Bearer wrong",
        "/ws?token=wrong|Bearer " + KEY,
        "/ws?token=" + KEY + "&token=wrong|",
        "/ws?token=wrong&token=" + KEY + "|",
        "/ws?token=|Bearer "
      })
  void twoDifferentKeysAreRefusedWhicheverIsRight(String uriAndAuthorization) throws Exception {
    String[] parts = uriAndAuthorization.split("\\|", -1);
    FullHttpRequest req = upgrade(parts[0]);
    if (!parts[1].isEmpty()) {
      req.headers().set(HttpHeaderNames.AUTHORIZATION, parts[1]);
    }

    refused(req, HttpResponseStatus.UNAUTHORIZED);
    assertFalse(channel.finish());
  }

  @Test
  void twoBearerHeadersMustBothBeTheKey() throws Exception {
    FullHttpRequest req = upgrade("/ws");
    req.headers().add(HttpHeaderNames.AUTHORIZATION, "Bearer " + KEY);
    req.headers().add(HttpHeaderNames.AUTHORIZATION, "Bearer wrong");

    refused(req, HttpResponseStatus.UNAUTHORIZED);
    assertFalse(channel.finish());
  }

  @Test
  void headOnTheAipPathIs405WithoutABody() {
    FullHttpRequest req = upgrade("/ws?token=" + KEY);
    req.setMethod(HttpMethod.HEAD);

    assertFalse(channel.writeInbound(req));
    FullHttpResponse r = channel.readOutbound();
    assertThat(r.status()).isEqualTo(HttpResponseStatus.METHOD_NOT_ALLOWED);
    assertThat(r.headers().get(HttpHeaderNames.ALLOW)).isEqualTo("GET");
    assertThat(r.headers().getInt(HttpHeaderNames.CONTENT_LENGTH)).isPositive();
    assertThat(r.content().readableBytes()).as("no body").isZero();
    r.release();
    assertThat(installs).isEmpty();
    assertFalse(channel.finish());
  }

  @Test
  void nothingPipelinedBehindARefusedRequestIsRead() {
    // The refusal's answer is still on its way out (a client that does not read), and the good
    // upgrade the client pipelined behind the refused one arrives meanwhile.
    HeldWrites held = new HeldWrites();
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline().addLast(held);
    ch.pipeline().addLast(new HandshakeGuard("/ws", ApiKey.of(KEY), installs::add));
    held.hold();
    FullHttpRequest behind = upgrade("/ws?token=" + KEY);
    FullHttpRequest alsoBehind = upgrade("/api/clients");

    assertFalse(ch.writeInbound(upgrade("/ws?token=wrong"), behind, alsoBehind));

    assertThat(installs).as("no upgrade").isEmpty();
    assertThat(behind.refCnt()).isZero();
    assertThat(alsoBehind.refCnt()).isZero();
    assertThat(held.heldMessages()).hasSize(1); // the 401 only
    held.releaseAll();
    FullHttpResponse r = ch.readOutbound();
    assertThat(r.status()).isEqualTo(HttpResponseStatus.UNAUTHORIZED);
    r.release();
    assertThat(ch.isOpen()).isFalse();
    assertFalse(ch.finish());
    assertFalse(channel.finish());
  }

  @Test
  void bearerParsing() {
    assertThat(HandshakeGuard.bearer(null)).isNull();
    assertThat(HandshakeGuard.bearer("")).isNull();
    assertThat(HandshakeGuard.bearer("Bearer")).isNull();
    assertThat(HandshakeGuard.bearer("Basic abc")).isNull();
    assertThat(HandshakeGuard.bearer("Bearer abc")).isEqualTo("abc");
    assertThat(HandshakeGuard.bearer("bEaReR  abc  ")).isEqualTo("abc");
    assertThat(HandshakeGuard.bearer("Bearerabc")).isNull();
  }
}
