// The reference point of the mesh benchmark: the plain `socket.pipe` TCP proxy anyone would write
// in 20 lines, round-robin over the given backends, no retry, no health, no metrics. The table
// shows it so that the orch userspace proxy is always measured against what a pipe gives for free.
// Usage: mesh-naive <address> <port> <host:port>...
import * as net from 'node:net';

const [address, port, ...targets] = process.argv.slice(2);
if (!address || !port || targets.length === 0) {
  process.stderr.write('usage: mesh-naive <address> <port> <host:port>...\n');
  process.exit(1);
}
const backends = targets.map((t) => {
  const [host, p] = t.split(':');
  return { host: host!, port: Number(p) };
});
let next = 0;
const server = net.createServer((client) => {
  const backend = net.connect(backends[next++ % backends.length]!);
  client.pipe(backend).pipe(client);
  client.on('error', () => backend.destroy());
  backend.on('error', () => client.destroy());
});
server.listen({ host: address, port: Number(port) }, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
