package org.aiphub.core.aip;

import org.aiphub.bench.BenchmarkBase;
import org.aiphub.bench.Fixtures;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * {@link AipCodec} on each golden frame (0.3-0.9 KB): decoding from UTF-8 bytes into a record and
 * encoding the record back to bytes. {@code client-*} frames go through {@code decodeClient} and
 * {@code encode(ClientMessage)}, {@code server-*} frames through {@code decodeServer} and {@code
 * encode(ServerMessage)}.
 *
 * <p>Part of the "decode + route + encode" budget (docs/ARCHITECTURE.md, "Performance targets");
 * PipelineBenchmark measures the whole.
 */
public class AipCodecBenchmark extends BenchmarkBase {
  /** The fixture file, from {@code src/main/resources/aip-fixtures}. */
  @Param({
    "client-command-results.json",
    "client-device-info-request.json",
    "client-heartbeat-constellation.json",
    "client-heartbeat.json",
    "client-register-constellation.json",
    "client-register-device.json",
    "client-task-constellation.json",
    "client-task-end-device.json",
    "server-command.json",
    "server-device-info-response.json",
    "server-error.json",
    "server-registration-ok.json",
    "server-task-end.json",
    "server-task-to-device.json"
  })
  public String fixture;

  private final AipCodec codec = new AipCodec();
  private byte[] frame;
  private boolean client;
  private ClientMessage clientMessage;
  private ServerMessage serverMessage;

  /** Loads the fixture and checks that it survives an encode/decode round trip. */
  @Setup(Level.Trial)
  public void setUp() throws AipDecodeException {
    frame = Fixtures.bytes(fixture);
    if (fixture.startsWith("client-")) {
      client = true;
      clientMessage = codec.decodeClient(frame);
      if (!codec.decodeClient(codec.encode(clientMessage)).equals(clientMessage)) {
        throw new IllegalStateException(fixture + " does not survive a round trip");
      }
    } else if (fixture.startsWith("server-")) {
      serverMessage = codec.decodeServer(frame);
      if (!codec.decodeServer(codec.encode(serverMessage)).equals(serverMessage)) {
        throw new IllegalStateException(fixture + " does not survive a round trip");
      }
    } else {
      throw new IllegalArgumentException("fixture names start with client- or server-: " + fixture);
    }
  }

  /** Bytes to record. */
  @Benchmark
  public Object decode() throws AipDecodeException {
    return client ? codec.decodeClient(frame) : codec.decodeServer(frame);
  }

  /** Record to bytes. */
  @Benchmark
  public byte[] encode() {
    return client ? codec.encode(clientMessage) : codec.encode(serverMessage);
  }
}
