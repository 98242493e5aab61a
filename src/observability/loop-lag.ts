/** The delay quantiles of one window, in milliseconds. */
export interface LoopLagFigures {
  p50: number;
  p99: number;
  max: number;
}

export interface LoopLagOptions {
  /** Interval of the sampling timer, ms; default 100 (ten wake-ups a second on an idle process). */
  everyMs?: number;
  /** Most samples kept between two reads (the newest win); default 1024, about 100 s at 100 ms. */
  capacity?: number;
  /** Clock in ms; default `performance.now`. */
  now?: () => number;
}

/**
 * Event-loop delay, sampled by a timer: how much later than its interval each tick of an
 * unref'd `setInterval` runs (a loop held up by 300 ms makes the next tick 300 ms late). Cheap
 * at both ends, which matters because metrics are scraped while the gateway carries traffic:
 * one small callback per tick, and a read sorts at most `capacity` numbers. Node's own
 * `monitorEventLoopDelay` ticks the same way but its histogram is read by walking thousands of
 * buckets per figure: prom-client's seven figures were the largest part of a scrape.
 */
export class LoopLag {
  private readonly everyMs: number;
  private readonly now: () => number;
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;
  /** The largest delay of the window, kept apart so a full ring never drops it. */
  private max = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: LoopLagOptions = {}) {
    this.everyMs = opts.everyMs ?? 100;
    this.now = opts.now ?? (() => performance.now());
    this.samples = new Float64Array(opts.capacity ?? 1024);
  }

  /** Starts sampling (idempotent). */
  start(): void {
    if (this.timer !== undefined) return;
    this.last = this.now();
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  /** Stops sampling; what was sampled can still be read. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records one tick: the time since the previous one, less the interval. */
  tick(): void {
    const t = this.now();
    const delay = Math.max(0, t - this.last - this.everyMs);
    this.last = t;
    this.samples[this.next] = delay;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
    if (delay > this.max) this.max = delay;
  }

  /** The delay quantiles since the previous read (all 0 when no tick came), then a new window. */
  take(): LoopLagFigures {
    const n = this.count;
    if (n === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = this.samples.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    const figures = { p50: at(0.5), p99: at(0.99), max: this.max };
    this.count = 0;
    this.next = 0;
    this.max = 0;
    return figures;
  }
}
