import type { Logger } from 'pino';
import type { Counters } from './counters.js';

type Level = 'error' | 'warn' | 'info' | 'debug';

interface Window {
  level: Level;
  msg: string;
  fields: Record<string, unknown>;
  suppressed: number;
}

/**
 * Rate-limited logging for anything a client or backend can make happen repeatedly: the first
 * line for a key is written at once; repeats within the window are counted and summarised when
 * it ends ("N more in the last 10 s: route response not delivered"), so a client cannot turn
 * its messages into log lines. Keys name the cause and, where useful, the connection
 * (`reply-dropped:CONNID`); past `maxKeys` distinct keys in a window, new ones fold into one.
 */
export class LogLimiter {
  private windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly counters?: Counters,
    private readonly windowMs = 10_000,
    private readonly maxKeys = 1000,
  ) {
    this.timer = setInterval(() => this.flush(), windowMs);
    this.timer.unref();
  }

  /** Logs `msg` at `level` unless `key` was logged in this window; then it is only counted. */
  log(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    let w = this.windows.get(key);
    if (w === undefined && this.windows.size >= this.maxKeys) {
      key = 'overflow';
      w = this.windows.get(key);
      fields = {};
      msg = 'log lines of many different causes';
    }
    if (w !== undefined) {
      w.suppressed++;
      this.counters?.inc('logsSuppressed', key.split(':', 1)[0]);
      return;
    }
    this.windows.set(key, { level, msg, fields, suppressed: 0 });
    this.logger[level](fields, msg);
  }

  /** Writes the summaries of the window that ended and starts a new one. */
  flush(): void {
    const ended = this.windows;
    this.windows = new Map();
    const seconds = Math.round(this.windowMs / 1000);
    for (const w of ended.values()) {
      if (w.suppressed > 0) this.logger[w.level]({ ...w.fields, suppressed: w.suppressed }, `${w.suppressed} more in the last ${seconds} s: ${w.msg}`);
    }
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
