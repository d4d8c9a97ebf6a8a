package org.aiphub.server.e2e;

/**
 * Every row of {@link AipTableEndToEndTest} again with every client frame sent as a binary frame of
 * UTF-8 JSON, which is how Galaxy's transport sends all of its frames.
 */
class AipTableBinaryFramesEndToEndTest extends AipTableEndToEndTest {
  @Override
  boolean binaryFrames() {
    return true;
  }
}
