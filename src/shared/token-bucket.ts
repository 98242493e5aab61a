/**
 * A token bucket: `perSecond` tokens refill continuously up to `burst`, starting full. Shared by
 * the management API's rate limit and route throttling (one implementation for both).
 * `burst` 0 refuses everything; `perSecond` 0 allows the burst once and never refills.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token; false when the bucket is empty (the caller answers 429). `now` saves a clock read on hot paths. */
  take(now = Date.now()): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
