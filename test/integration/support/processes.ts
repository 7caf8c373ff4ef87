// Child processes for multi-process tests and benchmarks: every process is tracked by PID in a
// group, its output is kept (last 256 KiB) for failure messages, and the group kills exactly its own
// children, so a failing test never leaves a process behind and never touches anyone else's.
import { type ChildProcess, spawn } from 'node:child_process';

const OUTPUT_LIMIT = 256 * 1024;

export interface SpawnOptions {
  /** A name for messages ("kv-a"). */
  name: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export class TrackedProcess {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitState: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly lineListeners = new Set<(line: string) => void>();
  private partial = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output = (this.output + text).slice(-OUTPUT_LIMIT);
      this.partial += text;
      let newline = this.partial.indexOf('\n');
      while (newline >= 0) {
        const line = this.partial.slice(0, newline);
        this.partial = this.partial.slice(newline + 1);
        for (const listener of this.lineListeners) listener(line);
        newline = this.partial.indexOf('\n');
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitState = { code, signal };
        resolve(this.exitState);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitState === undefined;
  }

  /** Everything the process wrote to stdout and stderr (the last 256 KiB). */
  get log(): string {
    return this.output;
  }

  /** Sends a signal to this process only (by PID). No-op once it exited. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** SIGKILL, then waits until the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Resolves with the first output line `match` accepts. */
  waitForLine(match: (line: string) => boolean, timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineListeners.delete(listener);
        reject(
          new Error(`${this.name} printed no matching line within ${timeoutMs} ms; output:\n${this.output}`),
        );
      }, timeoutMs);
      const listener = (line: string) => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        resolve(line);
      };
      this.lineListeners.add(listener);
      void this.exited.then(({ code, signal }) => {
        if (!this.lineListeners.has(listener)) return;
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        reject(
          new Error(
            `${this.name} exited (code ${code}, signal ${signal}) before printing the line; output:\n${this.output}`,
          ),
        );
      });
    });
  }
}

/** A set of child processes that are always killed together (call killAll in afterEach/afterAll). */
export class ProcessGroup {
  private readonly processes = new Set<TrackedProcess>();

  spawn(command: string, args: readonly string[], options: SpawnOptions): TrackedProcess {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`cannot start ${options.name}: ${command}`);
    const tracked = new TrackedProcess(options.name, child);
    this.processes.add(tracked);
    void tracked.exited.then(() => this.processes.delete(tracked));
    return tracked;
  }

  /** The processes still running. */
  get running(): TrackedProcess[] {
    return [...this.processes].filter((p) => p.running);
  }

  /** SIGKILLs every process this group started and is still running, and waits for them. */
  async killAll(): Promise<void> {
    await Promise.all([...this.processes].map((p) => p.kill()));
    this.processes.clear();
  }
}
