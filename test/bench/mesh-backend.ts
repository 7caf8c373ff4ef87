// A small HTTP backend for the mesh benchmark: keep-alive, answers every request with a short
// body, prints its port on stdout once listening. Runs in its own process.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const id = process.argv[3] ?? 'backend';
const body = Buffer.from(`hello from ${id}\n`);

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen({ host, port: 0 }, () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
