// `orch … | head`: when the reader of stdout goes away the CLI ends with exit 0 and no stack trace.
import { PassThrough } from 'node:stream';
import { exitQuietlyOnBrokenPipe } from '../../../src/cli/program';

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${code}`), { code, errno: -32, syscall: 'write' });
}

describe('orch on a broken stdout pipe', () => {
  it('exits 0 when stdout reports EPIPE', () => {
    const stdout = new PassThrough();
    const exits: number[] = [];
    exitQuietlyOnBrokenPipe(stdout, (code) => exits.push(code));
    stdout.emit('error', errnoError('EPIPE'));
    expect(exits).toEqual([0]);
  });

  it('leaves any other stdout error fatal', () => {
    const stdout = new PassThrough();
    const exits: number[] = [];
    exitQuietlyOnBrokenPipe(stdout, (code) => exits.push(code));
    expect(() => stdout.emit('error', errnoError('EIO'))).toThrow('write EIO');
    expect(exits).toEqual([]);
  });
});
