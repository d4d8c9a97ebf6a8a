'use strict';
// AIP relay on Node.js `ws`: what a team might write instead of the hub. It serves the subset the
// load generator's rate mode uses, with the hub's replies, parsing and encoding every frame.
// Usage: node relay.js [--host 127.0.0.1] [--port 5002]   (port 0 picks a free one)
const { WebSocketServer } = require('ws');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
const clients = new Map(); // client_id -> socket
const owners = new Map(); // session_id -> constellation client_id
const send = (ws, msg) => ws.send(JSON.stringify(msg));
const wss = new WebSocketServer({ host: arg('--host', '127.0.0.1'), port: Number(arg('--port', 5002)), path: '/ws' });

wss.on('connection', (ws) => {
  let id = null;
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return send(ws, { type: 'error', status: 'error', error: 'malformed JSON' });
    }
    if (m.type === 'register') {
      id = m.client_id;
      clients.set(id, ws);
      send(ws, { type: 'heartbeat', status: 'ok' });
    } else if (m.type === 'task') {
      const device = clients.get(m.target_id);
      if (!device) return send(ws, { type: 'error', status: 'error', error: 'target offline', session_id: m.session_id });
      owners.set(m.session_id, id);
      send(ws, { type: 'heartbeat', status: 'ok', session_id: m.session_id });
      send(device, { type: 'task', status: 'continue', user_request: m.request, task_name: m.task_name, session_id: m.session_id });
    } else if (m.type === 'task_end') {
      const owner = clients.get(owners.get(m.session_id));
      owners.delete(m.session_id);
      if (owner) send(owner, { type: 'task_end', status: m.status, session_id: m.session_id, result: m.result, error: m.error });
    } else if (m.type === 'heartbeat') {
      send(ws, { type: 'heartbeat', status: 'ok' });
    } else {
      send(ws, { type: 'error', status: 'error', error: `unsupported message type '${m.type}'` });
    }
  });
  ws.on('close', () => {
    if (id !== null && clients.get(id) === ws) clients.delete(id);
  });
});
wss.on('listening', () => {
  const a = wss.address();
  console.log(`Node ws relay listening on ${a.address}:${a.port} (ws ${require('ws/package.json').version}, node ${process.version})`);
});
process.on('SIGTERM', () => process.exit(0));
