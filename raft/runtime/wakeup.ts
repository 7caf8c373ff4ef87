// A level-triggered wake-up for the ready loop: notify() any number of times while the loop is busy
// and its next wait() returns at once; otherwise wait() sleeps until the next notify().

export class Wakeup {
  private waiter: (() => void) | undefined;
  private pending = false;

  notify(): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter();
    } else {
      this.pending = true;
    }
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
