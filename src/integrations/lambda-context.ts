import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * The Lambda `context` handed to in-process handlers. A class, not a literal with closures,
 * so a per-invocation context costs one small object.
 */
export class LambdaContext implements Context {
  callbackWaitsForEmptyEventLoop = true;
  readonly functionVersion = '$LATEST';
  readonly memoryLimitInMB = '128';
  readonly awsRequestId: string = randomUUID();
  readonly invokedFunctionArn: string;
  readonly logGroupName: string;
  readonly logStreamName: string;

  constructor(
    readonly functionName: string,
    private readonly deadline: number,
    region: string,
    accountId: string,
  ) {
    this.invokedFunctionArn = `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
    this.logGroupName = `/aws/lambda/${functionName}`;
    this.logStreamName = 'switchboard';
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
