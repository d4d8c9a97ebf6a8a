package org.aiphub.server.cluster;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.event.connection.ConnectionActivatedEvent;
import io.lettuce.core.event.connection.ConnectionDeactivatedEvent;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import reactor.core.Disposable;

/**
 * The hub's Redis connections, through Lettuce: one for commands and one for pub/sub, both
 * non-blocking and reconnecting on their own. Commands issued while Redis is unreachable fail at
 * once instead of queueing, so callers notice and degrade. Thread-safe.
 */
final class RedisBackplane implements AutoCloseable {
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisAsyncCommands<String, String> redis;
  private final StatefulRedisPubSubConnection<String, String> pubsub;
  private final Disposable events;

  /**
   * Connects and subscribes.
   *
   * @param onMessage called with (channel, message) for every message on {@code channels}
   * @param onConnection called with true when a connection comes (back) up, false when one drops
   * @throws io.lettuce.core.RedisConnectionException when Redis cannot be reached at start
   */
  RedisBackplane(
      String uri,
      Duration timeout,
      List<String> channels,
      BiConsumer<String, String> onMessage,
      Consumer<Boolean> onConnection) {
    client = RedisClient.create(RedisURI.create(uri));
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(timeout))
            .build());
    events =
        client
            .getResources()
            .eventBus()
            .get()
            .subscribe(
                e -> {
                  if (e instanceof ConnectionActivatedEvent) {
                    onConnection.accept(true);
                  } else if (e instanceof ConnectionDeactivatedEvent) {
                    onConnection.accept(false);
                  }
                });
    StatefulRedisConnection<String, String> commands = null;
    StatefulRedisPubSubConnection<String, String> subscriber = null;
    try {
      commands = client.connect();
      subscriber = client.connectPubSub();
      subscriber.addListener(
          new RedisPubSubAdapter<>() {
            @Override
            public void message(String channel, String message) {
              onMessage.accept(channel, message);
            }
          });
      subscriber.sync().subscribe(channels.toArray(new String[0]));
    } catch (RuntimeException e) {
      // The caller retries every renewal interval while Redis is down: a failed attempt must not
      // leave a client (and its threads) behind each time.
      if (subscriber != null) {
        subscriber.close();
      }
      if (commands != null) {
        commands.close();
      }
      events.dispose();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      throw e;
    }
    connection = commands;
    redis = commands.async();
    pubsub = subscriber;
  }

  /** Whether both connections are up right now. */
  boolean isOpen() {
    return connection.isOpen() && pubsub.isOpen();
  }

  CompletionStage<Long> publish(String channel, String message) {
    return redis.publish(channel, message);
  }

  CompletionStage<String> setWithTtl(String key, String value, Duration ttl) {
    return redis.set(key, value, SetArgs.Builder.px(ttl.toMillis()));
  }

  CompletionStage<String> get(String key) {
    return redis.get(key);
  }

  CompletionStage<Long> exists(String key) {
    return redis.exists(key);
  }

  CompletionStage<Long> sadd(String key, String member) {
    return redis.sadd(key, member);
  }

  CompletionStage<Set<String>> smembers(String key) {
    return redis.smembers(key);
  }

  CompletionStage<Map<String, String>> hgetall(String key) {
    return redis.hgetall(key);
  }

  CompletionStage<String> hget(String key, String field) {
    return redis.hget(key, field);
  }

  /** The values of {@code fields} in hash {@code key}; fields without one are left out. */
  CompletionStage<Map<String, String>> hmget(String key, List<String> fields) {
    return redis
        .hmget(key, fields.toArray(new String[0]))
        .thenApply(
            values -> {
              Map<String, String> out = new HashMap<>();
              values.forEach(kv -> kv.ifHasValue(v -> out.put(kv.getKey(), v)));
              return out;
            });
  }

  CompletionStage<Long> del(String key) {
    return redis.del(key);
  }

  /** Runs a Lua script returning a string (or null). */
  CompletionStage<String> evalString(String script, String[] keys, String... args) {
    return redis.<String>eval(script, ScriptOutputType.VALUE, keys, args);
  }

  /** Runs a Lua script returning an integer. */
  CompletionStage<Long> evalLong(String script, String[] keys, String... args) {
    return redis.<Long>eval(script, ScriptOutputType.INTEGER, keys, args);
  }

  @Override
  public void close() {
    events.dispose();
    pubsub.close();
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
