// How a new member joins a running cluster through any member's HTTP API: ask to be added as a
// learner, then keep asking to be promoted until the leader finds it caught up.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

export interface JoinRequest {
  id: string;
  /** This member's Raft transport address. */
  address: string;
  /** This member's HTTP address. */
  http: string;
}

function post(
  target: string,
  path: string,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  const colon = target.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.slice(0, colon), port: Number(target.slice(colon + 1)), method: 'POST', path, signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Retries `path` on `target` until it answers 204 (or `done` accepts the answer). */
async function retry(
  target: string,
  path: string,
  body: string,
  logger: Logger,
  signal: AbortSignal,
  done: (status: number, body: string) => boolean,
): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    try {
      const answer = await post(target, path, body, signal);
      if (answer.status === 204 || done(answer.status, answer.body)) return;
      logger.debug({ path, status: answer.status, body: answer.body }, 'join step not done yet; retrying');
    } catch (err) {
      if (signal.aborted) throw err;
      logger.debug({ path, err: (err as Error).message }, 'join step failed; retrying');
    }
    await sleep(200, undefined, { signal });
  }
}

/** Adds this member as a learner, then promotes it to voter once it caught up. */
export async function joinCluster(
  target: string,
  request: JoinRequest,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  await retry(target, '/members', JSON.stringify(request), logger, signal, (status, body) => {
    // Added earlier (e.g. before a restart): nothing to do.
    return status === 409 && body.includes('already in the cluster');
  });
  logger.info({ target }, 'added to the cluster as a learner');
  await retry(target, `/members/${encodeURIComponent(request.id)}/promote`, '', logger, signal, () => false);
  logger.info('promoted to voter');
}
