package org.aiphub.bench.loadgen;

import org.aiphub.core.aip.ServerMessage;

/** What a simulated client does with the frames it receives after its registration. */
interface ClientBehaviour {
  /** Does nothing: idle devices of the connections and storm modes. */
  ClientBehaviour IDLE =
      new ClientBehaviour() {
        @Override
        public void onMessage(WsClient client, ServerMessage m) {}

        @Override
        public void onUndecodable(WsClient client, String problem) {}

        @Override
        public void onClosed(WsClient client) {}
      };

  /** A frame arrived (on the client's event loop). */
  void onMessage(WsClient client, ServerMessage m);

  /** A frame arrived that is not a server message. */
  void onUndecodable(WsClient client, String problem);

  /** The connection closed after the registration. */
  void onClosed(WsClient client);
}
