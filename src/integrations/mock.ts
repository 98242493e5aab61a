import type { Integration } from './integration.js';

/**
 * AWS `MOCK` integration: answers without a backend. `$connect` is accepted (or refused with a
 * `statusCode` outside 2xx); a two-way route sends `body` back; `$disconnect` does nothing.
 * The answer is synchronous, so a mocked message holds no in-flight slot.
 */
export class MockIntegration implements Integration {
  readonly description: string;
  readonly kind = 'mock';
  readonly abortable = false;
  private readonly answer: { statusCode: number; body?: string };

  constructor(mock: { statusCode: number; body?: string | undefined }) {
    this.answer = mock.body === undefined ? { statusCode: mock.statusCode } : { statusCode: mock.statusCode, body: mock.body };
    this.description = `mock ${mock.statusCode}`;
  }

  start(): unknown {
    return this.answer;
  }

  invoke(): Promise<unknown> {
    return Promise.resolve(this.answer);
  }
}
