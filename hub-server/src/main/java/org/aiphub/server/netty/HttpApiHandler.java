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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;
import org.aiphub.server.http.ApiRequest;
import org.aiphub.server.http.ApiResponse;
import org.aiphub.server.http.ApiRoutes;
import org.aiphub.server.security.ApiKey;
import org.aiphub.server.security.OriginPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the HTTP API: checks the key ({@code X-API-Key: KEY} or {@code Authorization: Bearer KEY},
 * compared in constant time), hands the request to {@link ApiRoutes} and writes its answer. Routes
 * that touch files run on a separate executor, never on the event loop. Stateless and shared by all
 * channels.
 */
@ChannelHandler.Sharable
public final class HttpApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(HttpApiHandler.class);

  private final ApiRoutes routes;
  private final ApiKey apiKey;
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
    this.routes = routes;
    this.apiKey = apiKey;
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
    if (!ApiRoutes.isPublic(path) && !authorized(req)) {
      refusals.accept(RequestRefusal.BAD_KEY);
      write(
          ctx,
          keepAlive,
          head,
          label,
          CorsHeaders.allow(
              origin,
              ApiResponse.error(401, "missing or invalid API key: send X-API-Key: KEY")
                  .withHeader("WWW-Authenticate", "Bearer")));
      return;
    }
    if (events != null && "/api/events".equals(path)) {
      if (HttpMethod.GET.equals(req.method())) {
        requests.accept(label, 200);
        events.subscribe(ctx);
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
   * Every key the request presents ({@code X-API-Key} and {@code Authorization: Bearer} headers;
   * the API takes none in its URL), judged by the rule of {@link ApiKey#acceptsAll}.
   */
  private boolean authorized(FullHttpRequest req) {
    List<String> keys = new ArrayList<>(req.headers().getAll("X-API-Key"));
    for (String authorization : req.headers().getAll(HttpHeaderNames.AUTHORIZATION)) {
      keys.add(HandshakeGuard.bearer(authorization));
    }
    return apiKey.acceptsAll(keys);
  }

  /**
   * Writes an answer; for {@code head}, its status and headers only, with the Content-Length the
   * body would have had.
   */
  private void write(
      ChannelHandlerContext ctx, boolean keepAlive, boolean head, String label, ApiResponse r) {
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
    requests.accept(label, r.status());
    HttpResponses.send(ctx, keepAlive, response);
  }
}
