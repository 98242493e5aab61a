import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * The Lambda `context` handed to in-process handlers. One small object per invocation: the
 * derived fields (request id, ARNs) are computed only if a handler reads them, since most never do.
 */
export class LambdaContext implements Context {
  callbackWaitsForEmptyEventLoop = true;
  private requestId: string | undefined;

  constructor(
    readonly functionName: string,
    private readonly deadline: number,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  get functionVersion(): string {
    return '$LATEST';
  }
  get memoryLimitInMB(): string {
    return '128';
  }
  get awsRequestId(): string {
    return (this.requestId ??= randomUUID());
  }
  get invokedFunctionArn(): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${this.functionName}`;
  }
  get logGroupName(): string {
    return `/aws/lambda/${this.functionName}`;
  }
  get logStreamName(): string {
    return 'switchboard';
  }

  /** Milliseconds left before the integration timeout. */
  getRemainingTimeInMillis(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  // Legacy completion methods: in-process handlers should return or throw instead.
  done(): void {}
  fail(): void {}
  succeed(): void {}
}
