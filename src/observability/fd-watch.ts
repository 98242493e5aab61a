import { readdir } from 'node:fs/promises';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Counters } from './counters.js';
import type { LogLimiter } from './log-limiter.js';

/**
 * Warns before the process runs out of file descriptors (each client socket is one): the soft
 * limit is read once from /proc/self/limits, the open descriptors are counted from
 * /proc/self/fd every `everyMs` (one async directory read), when the open sockets plus the
 * descriptors held at start come near the limit (at most once a second), and whenever an
 * accept fails with EMFILE/ENFILE. At `ratio` of the limit a rate-limited warning names both numbers. Where /proc
 * is missing (not Linux) it does nothing.
 */
export class FdWatch {
  /** The soft RLIMIT_NOFILE, or undefined when it cannot be read or is unlimited. */
  readonly limit: number | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private checking = false;
  private lastCheck = 0;
  /** Descriptors open when the watch started (stdio, the event loop's, the listener). */
  private readonly base: number;

  constructor(
    private readonly logLimiter: LogLimiter,
    private readonly counters: Counters,
    everyMs = 5000,
    private readonly ratio = 0.9,
  ) {
    this.limit = softFdLimit();
    this.base = this.limit === undefined ? 0 : countFdsSync();
    if (this.limit !== undefined) {
      this.timer = setInterval(() => this.check(), everyMs);
      this.timer.unref();
    }
  }

  /** Called per accepted socket with the number of open sockets: cheap unless near the limit. */
  onConnection(sockets: number): void {
    if (this.limit === undefined || sockets + this.base < this.limit * this.ratio) return;
    const now = Date.now();
    if (now - this.lastCheck < 1000) return;
    this.check();
  }

  /** Counts open descriptors (async) and warns when they are near the limit. */
  check(): void {
    if (this.limit === undefined || this.checking) return;
    this.lastCheck = Date.now();
    const size = fdCountByStat();
    if (size > 0) {
      if (size >= this.limit * this.ratio) this.warn(size);
      return;
    }
    this.checking = true;
    readdir('/proc/self/fd').then(
      (entries) => {
        this.checking = false;
        // The directory read holds one descriptor of its own while it runs.
        const open = entries.length - 1;
        if (open >= this.limit! * this.ratio) this.warn(open);
      },
      (err: { code?: string }) => {
        this.checking = false;
        // Not even the directory could be opened: the limit is reached.
        if (err.code === 'EMFILE' || err.code === 'ENFILE') this.warn(this.limit!);
      },
    );
  }

  private warn(open: number): void {
    this.counters.inc('fdLimitNear');
    this.logLimiter.log('warn', 'fd-limit', { openFds: open, fdLimit: this.limit }, 'near the file descriptor limit: new clients will be dropped; raise the limit (ulimit -n, LimitNOFILE) or set limits.maxConnections below it');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function countFdsSync(): number {
  return countOpenFds() ?? 0;
}

/**
 * The descriptors this process has open, or undefined where /proc cannot tell. Linux 6.2 and
 * later give the count as the size of /proc/self/fd: one stat, which needs no descriptor and does
 * not grow with the count (listing 20,000 entries takes milliseconds); older kernels are read by
 * listing the directory.
 */
export function countOpenFds(): number | undefined {
  const size = fdCountByStat();
  if (size > 0) return size;
  try {
    return readdirSync('/proc/self/fd').length - 1; // minus the listing's own descriptor
  } catch {
    return undefined;
  }
}

/** The open descriptors from one stat of /proc/self/fd, or 0 where the kernel does not tell (before 6.2, no /proc). */
function fdCountByStat(): number {
  try {
    return statSync('/proc/self/fd').size;
  } catch {
    return 0;
  }
}

/** The soft "Max open files" of this process from /proc/self/limits. */
function softFdLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
