// Counts the Node.js timers code under test keeps alive at once (unref'd ones included, which
// process.getActiveResourcesInfo() does not list), by wrapping setTimeout and clearTimeout.

export interface LiveTimers {
  /** Timers set and neither fired nor cleared. */
  readonly live: number;
  /** The most that were live at the same time. */
  readonly peak: number;
  restore(): void;
}

export function trackLiveTimers(): LiveTimers {
  const live = new Set<unknown>();
  let peak = 0;
  const setSpy = jest.spyOn(global, 'setTimeout');
  const clearSpy = jest.spyOn(global, 'clearTimeout');
  const realSet = setSpy.getMockImplementation() ?? setTimeout;
  const realClear = clearSpy.getMockImplementation() ?? clearTimeout;
  setSpy.mockImplementation(((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = (realSet as typeof setTimeout)(
      (...a: unknown[]) => {
        live.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    live.add(handle);
    peak = Math.max(peak, live.size);
    return handle;
  }) as typeof setTimeout);
  clearSpy.mockImplementation(((handle: NodeJS.Timeout | undefined) => {
    live.delete(handle);
    (realClear as typeof clearTimeout)(handle);
  }) as typeof clearTimeout);
  return {
    get live() {
      return live.size;
    },
    get peak() {
      return peak;
    },
    restore() {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}
