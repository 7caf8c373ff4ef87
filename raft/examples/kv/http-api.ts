// The example server's HTTP API on loopback:
//   PUT /kv/<key>        body = value → 204 once committed and applied (a follower forwards to the leader)
//   GET /kv/<key>        linearizable (ReadIndex) → 200 value | 404
//   GET /status          → {id, term, leader, commitIndex, appliedIndex, role, voters, learners}
//   GET /members         → [{id, address, http}]
//   POST /members        {id, address, http} → adds a learner (leader; forwarded from followers)
//   POST /members/<id>/promote → makes a caught-up learner a voter (409 while it lags)
//   DELETE /members/<id> → removes a member
// Errors: 503 {error, leader, leaderHttp} when no leader can take the request (header x-raft-leader),
// 504 when it timed out (the outcome of a write is then unknown).
import http from 'node:http';
import type { Logger } from 'pino';
import {
  AbortError,
  LeadershipLostError,
  MembershipError,
  NotCaughtUpError,
  NotLeaderError,
  ProposalDroppedError,
  type RaftNode,
  RaftStoppedError,
} from '../../runtime';
import { encodeCommand, type KvStateMachine } from './kv-state-machine';

const FORWARDED_HEADER = 'x-raft-forwarded';
const REQUEST_TIMEOUT_MS = 5000;

export interface KvHttpOptions {
  node: RaftNode;
  kv: KvStateMachine;
  logger: Logger;
}

class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class KvHttpApi {
  readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

  constructor(private readonly options: KvHttpOptions) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(req, res, err));
    });
    this.server.keepAliveTimeout = 30_000;
  }

  listen(hostPort: string): Promise<string> {
    const colon = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, colon);
    const port = Number(hostPort.slice(colon + 1));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? `${host}:${address.port}` : hostPort);
      });
    });
  }

  close(): Promise<void> {
    this.agent.destroy();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The HTTP address of the current leader, when it announced one. */
  leaderHttp(): { id: string; http: string | undefined } {
    const { id, info } = this.options.node.leaderInfo();
    return { id, http: id ? (this.options.kv.httpOf(id) ?? info?.meta?.http) : undefined };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Only the path is used: slicing it off is much cheaper than a WHATWG URL per request.
    const target = req.url ?? '/';
    const query = target.indexOf('?');
    const path = query === -1 ? target : target.slice(0, query);
    if (path.startsWith('/kv/') && path.length > 4) {
      const key = decodeURIComponent(path.slice(4));
      if (req.method === 'PUT') return this.put(req, res, key);
      if (req.method === 'GET') return this.get(res, key);
      throw new HttpError(405, `${req.method} not allowed on /kv/`);
    }
    if (path === '/status' && req.method === 'GET') return this.json(res, 200, this.status());
    if (path === '/members' && req.method === 'GET') return this.json(res, 200, this.members());
    if (path === '/members' && req.method === 'POST') return this.addMember(req, res);
    const member = /^\/members\/([^/]+)(\/promote)?$/.exec(path);
    if (member) {
      const id = decodeURIComponent(member[1]!);
      if (member[2] && req.method === 'POST')
        return this.leaderOnly(req, res, () => this.timed((o) => this.options.node.promote(id, o)));
      if (!member[2] && req.method === 'DELETE') {
        return this.leaderOnly(req, res, () => this.timed((o) => this.options.node.removeMember(id, o)));
      }
    }
    throw new HttpError(404, `no route for ${req.method} ${path}`);
  }

  private async put(req: http.IncomingMessage, res: http.ServerResponse, key: string): Promise<void> {
    const body = await readBody(req);
    const value = body.toString();
    await this.leaderOnly(
      req,
      res,
      () => this.timed((o) => this.options.node.propose(encodeCommand({ op: 'put', key, value }), o)),
      body,
    );
  }

  private async get(res: http.ServerResponse, key: string): Promise<void> {
    await this.timed((o) => this.options.node.readBarrier(o));
    const value = this.options.kv.get(key);
    if (value === undefined) return this.json(res, 404, { error: `key ${key} not found` });
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(value);
  }

  private status() {
    const s = this.options.node.status();
    return {
      id: s.id,
      term: s.term,
      leader: s.leader,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      role: s.role,
      voters: s.voters,
      learners: s.learners,
      leaderHttp: this.leaderHttp().http ?? null,
    };
  }

  private members() {
    return [...this.options.node.memberList()].map(([id, info]) => ({
      id,
      address: info.address,
      http: this.options.kv.httpOf(id) ?? info.meta?.http ?? null,
    }));
  }

  private async addMember(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    let request: { id?: unknown; address?: unknown; http?: unknown };
    try {
      request = JSON.parse(body.toString()) as typeof request;
    } catch {
      throw new HttpError(400, 'body must be JSON {id, address, http}');
    }
    const { id, address, http: httpAddress } = request;
    if (typeof id !== 'string' || typeof address !== 'string' || typeof httpAddress !== 'string') {
      throw new HttpError(400, 'body must be JSON {id, address, http} with string fields');
    }
    await this.leaderOnly(
      req,
      res,
      () =>
        this.timed((o) => this.options.node.addLearner(id, address, { meta: { http: httpAddress }, ...o })),
      body,
    );
  }

  /** Runs a leader-only operation here, or forwards the request to the leader once (204 on success). */
  private async leaderOnly(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    operation: () => Promise<unknown>,
    body?: Buffer,
  ): Promise<void> {
    try {
      await operation();
    } catch (err) {
      if (!(err instanceof NotLeaderError)) throw err;
      const leader = this.leaderHttp();
      if (leader.http && req.headers[FORWARDED_HEADER] === undefined)
        return this.forward(req, res, leader.http, body);
      throw err;
    }
    res.writeHead(204);
    res.end();
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse, target: string, body?: Buffer) {
    const colon = target.lastIndexOf(':');
    await new Promise<void>((resolve, reject) => {
      const out = http.request(
        {
          host: target.slice(0, colon),
          port: Number(target.slice(colon + 1)),
          method: req.method,
          path: req.url,
          agent: this.agent,
          headers: {
            [FORWARDED_HEADER]: this.options.node.id,
            'content-type': req.headers['content-type'] ?? 'text/plain',
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (answer) => {
          const headers: http.OutgoingHttpHeaders = {};
          for (const h of ['content-type', 'x-raft-leader'])
            if (answer.headers[h]) headers[h] = answer.headers[h];
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', reject);
        },
      );
      out.on('timeout', () => out.destroy(new AbortError()));
      out.on('error', reject);
      out.end(body);
    }).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      throw new HttpError(503, `forwarding to the leader at ${target} failed: ${(err as Error).message}`);
    });
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const leader = this.leaderHttp();
    const extra = { leader: leader.id || null, leaderHttp: leader.http ?? null };
    if (leader.id) res.setHeader('x-raft-leader', leader.id);
    const status = statusOf(err);
    const message = err instanceof AbortError ? 'timed out; the outcome is unknown' : (err as Error).message;
    if (status === 500) {
      this.options.logger.error({ err: message, method: req.method, url: req.url }, 'request failed');
    }
    this.json(res, status, { error: message, ...extra });
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  /**
   * Runs `operation` with a signal that fires after REQUEST_TIMEOUT_MS, from a plain timer cleared
   * when it settles. Not AbortSignal.timeout: that one also registers a weak reference and a
   * finalizer per signal, a measurable cost at thousands of requests per second.
   */
  private async timed<T>(operation: (options: { signal: AbortSignal }) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('request timed out')), REQUEST_TIMEOUT_MS);
    try {
      return await operation({ signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The HTTP status a failed request answers with. */
function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof AbortError) return 504;
  if (err instanceof NotCaughtUpError || err instanceof MembershipError) return 409;
  if (
    err instanceof NotLeaderError ||
    err instanceof LeadershipLostError ||
    err instanceof RaftStoppedError ||
    err instanceof ProposalDroppedError
  ) {
    return 503;
  }
  return 500;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1024 * 1024) {
        reject(new HttpError(413, 'body larger than 1 MiB'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
