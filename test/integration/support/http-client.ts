// A small HTTP client over a keep-alive agent, for tests and load generators talking to loopback servers.
import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class HttpClient {
  readonly agent: http.Agent;

  constructor(maxSockets = 256) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(
    hostPort: string,
    method: string,
    path: string,
    options: { body?: string | Buffer; timeoutMs?: number; headers?: http.OutgoingHttpHeaders } = {},
  ): Promise<HttpResponse> {
    const colon = hostPort.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: hostPort.slice(0, colon),
          port: Number(hostPort.slice(colon + 1)),
          method,
          path,
          agent: this.agent,
          headers: options.headers,
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${hostPort}${path} timed out`)));
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
