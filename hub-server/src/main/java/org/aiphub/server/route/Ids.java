package org.aiphub.server.route;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Fresh ids for responses and sessions. */
public final class Ids {
  private Ids() {}

  /**
   * A random version-4 UUID string. Response and session ids correlate messages and are not
   * secrets, so a thread-local generator is enough, and it is several times cheaper than {@link
   * UUID#randomUUID()}'s shared SecureRandom on the per-task hot path.
   */
  public static String uuid() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (r.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long lo = (r.nextLong() & ~(0xC000L << 48)) | (0x8000L << 48); // IETF variant
    return new UUID(hi, lo).toString();
  }
}
