import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stderr, so stdout stays free for what the CLI prints for people and
 * scripts (the listening URL, command output). Nothing is logged per message at `info`.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'switchboard' } }, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
