package org.aiphub.server.netty;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;
import org.aiphub.server.FatalErrors;
import org.aiphub.server.http.ApiRequest;
import org.aiphub.server.http.ApiResponse;
import org.aiphub.server.http.ApiRoutes;
import org.aiphub.server.security.AccessKeys;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the HTTP API: checks the key ({@code X-API-Key: KEY} or {@code Authorization: Bearer KEY},
 * compared in constant time; {@link AccessKeys} decides whether it may operate the hub: the
 * operator key when one is set, else the client key), hands the request to {@link ApiRoutes} and
 * writes its answer. Routes that touch files run on a separate executor, never on the event loop.
 * Stateless and shared by all channels.
 */
@ChannelHandler.Sharable
public final class HttpApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(HttpApiHandler.class);

  /** The error text of an answer that could not be built for want of memory. */
  static final String OUT_OF_MEMORY = "the hub has no memory for this answer now; retry later";

  private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final AtomicLong nextWarn = new AtomicLong(System.nanoTime());

  private final ApiRoutes routes;
  private final AccessKeys keys;
  private final Executor blocking;
  private final ObjIntConsumer<String> requests;
  private final OriginPolicy origins;
  private final EventStream events;
  private final Consumer<RequestRefusal> refusals;

  /**
   * A handler.
   *
   * @param blocking runs routes that may block
   * @param requests told (route label, status) of every answered request
   */
  public HttpApiHandler(
      ApiRoutes routes, ApiKey apiKey, Executor blocking, ObjIntConsumer<String> requests) {
    this(routes, apiKey, blocking, requests, new OriginPolicy(List.of("*"), List.of("*"), "::"));
  }

  /**
   * A handler that also refuses (403) requests whose {@code Host} or browser {@code Origin} the
   * policy does not allow, before looking at the key.
   */
  public HttpApiHandler(
      ApiRoutes routes,
      ApiKey apiKey,
      Executor blocking,
      ObjIntConsumer<String> requests,
      OriginPolicy origins) {
    this(routes, apiKey, blocking, requests, origins, null, r -> {});
  }

  /**
   * A handler that also serves the dashboard's live feed at {@code GET /api/events} (when {@code
   * events} is not null).
   *
   * @param refusals told why each request refused for its Host, Origin or key was refused
   */
  public HttpApiHandler(
      ApiRoutes routes,
      ApiKey apiKey,
      Executor blocking,
      ObjIntConsumer<String> requests,
      OriginPolicy origins,
      EventStream events,
      Consumer<RequestRefusal> refusals) {
    this(routes, AccessKeys.shared(apiKey), blocking, requests, origins, events, refusals);
  }

  /**
   * A handler whose key check asks {@code keys} (the one decision point for keys): every route but
   * the public ones needs a key that may operate the hub, the operator key when one is set.
   *
   * @param refusals told why each request refused for its Host, Origin or key was refused
   */
  public HttpApiHandler(
      ApiRoutes routes,
      AccessKeys keys,
      Executor blocking,
      ObjIntConsumer<String> requests,
      OriginPolicy origins,
      EventStream events,
      Consumer<RequestRefusal> refusals) {
    this.routes = routes;
    this.keys = keys;
    this.blocking = blocking;
    this.requests = requests;
    this.origins = origins;
    this.events = events;
    this.refusals = refusals;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    // The same decision as the handshake guard's in front of this handler, which already refused
    // malformed requests: undecodable (the decoder drops everything after one, so the connection
    // closes: the client's next request on it would stay unanswered), no or two Hosts, bad escapes.
    RequestTarget target = RequestTarget.of(req, null);
    if (target.kind() == RequestTarget.Kind.MALFORMED) {
      refusals.accept(RequestRefusal.BAD_REQUEST);
      write(ctx, false, false, "other", ApiResponse.error(400, target.problem()));
      return;
    }
    String path = target.path();
    String label = ApiRoutes.routeLabel(path);
    // HEAD is answered as GET is, without the body (RFC 9110 9.3.2).
    boolean head = HttpMethod.HEAD.equals(req.method());
    String host = req.headers().get(HttpHeaderNames.HOST);
    RequestRefusal reason = RequestRefusal.BAD_HOST;
    String refusal = origins.refuseHost(host);
    if (refusal == null) {
      reason = RequestRefusal.BAD_ORIGIN;
      refusal = origins.refuseOrigin(req.headers().get(HttpHeaderNames.ORIGIN), host);
    }
    if (refusal != null) {
      refusals.accept(reason);
      write(ctx, keepAlive, head, label, ApiResponse.error(403, refusal));
      return;
    }
    // From here on the Origin (if any) is allowed: answers carry the CORS headers that let a page
    // of that origin read them.
    String origin = req.headers().get(HttpHeaderNames.ORIGIN);
    if (origin != null
        && HttpMethod.OPTIONS.equals(req.method())
        && req.headers().contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
      // A browser's preflight carries no key (it never sends credentials or custom headers on
      // one); it only asks whether the real request may be sent.
      write(ctx, keepAlive, false, label, CorsHeaders.preflight(origin));
      return;
    }
    if (!ApiRoutes.isPublic(path) && !keys.apiRole(req.headers()).operates()) {
      // The client key of a hub with an operator key lands here too, with the same answer as a
      // wrong key: telling them apart would confirm a guessed client key.
      refusals.accept(RequestRefusal.BAD_KEY);
      write(
          ctx,
          keepAlive,
          head,
          label,
          CorsHeaders.allow(
              origin,
              ApiResponse.error(401, keys.operatorRefusal())
                  .withHeader("WWW-Authenticate", "Bearer")));
      return;
    }
    if (events != null && "/api/events".equals(path)) {
      if (HttpMethod.GET.equals(req.method())) {
        events.subscribe(ctx, status -> requests.accept(label, status));
        return;
      }
      if (head) {
        // The feed's headers; no viewer joins.
        write(
            ctx,
            keepAlive,
            true,
            label,
            CorsHeaders.allow(
                origin, ApiResponse.text(200, "", "text/event-stream; charset=utf-8")));
        return;
      }
    }
    ApiRequest request =
        new ApiRequest(
            head ? HttpMethod.GET.name() : req.method().name(),
            path,
            target.parameters(),
            ByteBufUtil.getBytes(req.content()));
    if (!ApiRoutes.isBlocking(request)) {
      write(ctx, keepAlive, head, label, CorsHeaders.allow(origin, answer(request, head)));
      return;
    }
    try {
      blocking.execute(
          () -> {
            ApiResponse r = CorsHeaders.allow(origin, answer(request, head));
            ctx.executor().execute(() -> write(ctx, keepAlive, head, label, r));
          });
    } catch (RejectedExecutionException e) {
      write(ctx, keepAlive, head, label, ApiResponse.error(500, "the hub is shutting down"));
    }
  }

  private ApiResponse answer(ApiRequest request, boolean head) {
    ApiResponse r;
    try {
      r = routes.handle(request);
    } catch (RuntimeException e) {
      log.warn("HTTP {} {} failed", request.method(), ApiRoutes.routeLabel(request.path()), e);
      return ApiResponse.error(500, "internal error");
    }
    String allow = r.headers().get("Allow");
    if (r.status() == 405 && head) {
      // A route that takes only POST: say so for HEAD, which it was asked as GET.
      return ApiResponse.error(405, "method HEAD not allowed here; use " + allow)
          .withHeader("Allow", allow);
    }
    if (r.status() == 405 && HttpMethod.GET.name().equals(allow)) {
      return r.withHeader("Allow", "GET, HEAD"); // every GET route answers HEAD too
    }
    return r;
  }

  /**
   * Writes an answer; for {@code head}, its status and headers only, with the Content-Length the
   * body would have had. An answer that cannot be built (no memory for its buffer) becomes a small
   * heap answer and the connection closes.
   */
  private void write(
      ChannelHandlerContext ctx, boolean keepAlive, boolean head, String label, ApiResponse r) {
    FullHttpResponse response;
    int status = r.status();
    try {
      response = build(ctx, r, head);
    } catch (OutOfMemoryError e) {
      // The answer's buffer could not grow (direct memory exhausted, typically by answers queued
      // for readers that do not read); it was released on the way out. A hub process ends here
      // (FatalErrors decides: every OutOfMemoryError is fatal to it). An embedded hub goes on:
      // this client gets a small heap answer and its connection closes, its next request being as
      // likely to fail.
      FatalErrors.check(e);
      status = HttpResponseStatus.SERVICE_UNAVAILABLE.code();
      response = HttpResponses.fallback(HttpResponseStatus.SERVICE_UNAVAILABLE, OUT_OF_MEMORY);
      keepAlive = false;
      warnRarely("HTTP {} answer not built, out of memory: {}", label, e.toString());
    } catch (RuntimeException e) {
      status = HttpResponseStatus.INTERNAL_SERVER_ERROR.code();
      response = HttpResponses.fallback(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error");
      keepAlive = false;
      log.warn("HTTP {} answer not built", label, e);
    }
    boolean sent = false;
    try {
      requests.accept(label, status); // counted before the answer goes out
      HttpResponses.send(ctx, keepAlive, response);
      sent = true;
    } finally {
      if (!sent) {
        response.release();
      }
    }
  }

  /**
   * The Netty response for an answer (headers only for {@code head}); nothing is held when it
   * throws.
   */
  private static FullHttpResponse build(ChannelHandlerContext ctx, ApiResponse r, boolean head) {
    FullHttpResponse response;
    HttpResponseStatus status = HttpResponseStatus.valueOf(r.status());
    if (r.json() != null) {
      response = HttpResponses.json(ctx, status, r.json());
    } else {
      byte[] body = r.text().getBytes(StandardCharsets.UTF_8);
      response =
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
      if (r.status() == 204) {
        // RFC 9110: a 204 has no body and must not send Content-Length or a content type.
        response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
      } else {
        response
            .headers()
            .set(HttpHeaderNames.CONTENT_TYPE, r.contentType())
            .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
            .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
      }
    }
    for (Map.Entry<String, String> h : r.headers().entrySet()) {
      response.headers().set(h.getKey(), h.getValue());
    }
    if (head) {
      response = HttpResponses.withoutBody(response);
      if (r.text() != null && r.contentType().startsWith("text/event-stream")) {
        response.headers().remove(HttpHeaderNames.CONTENT_LENGTH); // a stream has no length
      }
    }
    return response;
  }

  /**
   * A WARN line at most every {@link #WARN_INTERVAL_NANOS}: under memory pressure every request
   * fails the same way, and the log must not become the next thing to run out.
   */
  private static void warnRarely(String format, Object... args) {
    long now = System.nanoTime();
    long next = nextWarn.get();
    if (now - next >= 0 && nextWarn.compareAndSet(next, now + WARN_INTERVAL_NANOS)) {
      log.warn(format, args);
    }
  }
}
