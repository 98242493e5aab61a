import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { IntegrationTimeout, type Integration } from './integration.js';

/** A `lambda` integration as configured (schema LambdaSchema). */
export interface LambdaRef {
  /** Name, partial ARN or full ARN, with an optional `:qualifier` (version or alias). */
  functionName: string;
  endpoint?: string | undefined;
  region?: string | undefined;
}

/**
 * The function answered with `X-Amz-Function-Error` (`Unhandled`: it threw or timed out;
 * `Handled`). The message is the function's `errorMessage`, so an authorizer that throws
 * `Unauthorized` refuses with 401 as on AWS; a route answers "Internal server error" (502 on
 * $connect), as API Gateway does for a failed Lambda proxy integration.
 */
export class LambdaFunctionError extends Error {
  override name = 'LambdaFunctionError';
  constructor(
    readonly functionError: string,
    message: string,
    readonly errorType: string | undefined,
  ) {
    super(message);
  }
}

/** `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` → REGION; undefined for a name or partial ARN. */
export function regionOfArn(functionName: string): string | undefined {
  const m = /^arn:[^:]+:lambda:([^:]+):\d{12}:function:/.exec(functionName);
  return m?.[1];
}

/**
 * Lambda integration (AWS_PROXY to a function): the event goes to the Lambda Invoke API
 * (`RequestResponse`, SigV4-signed with the gateway's credential chain) of AWS or a compatible
 * endpoint (serverless-offline's, LocalStack…), and the function's answer is used as a
 * handler's. One attempt only: a retry would deliver a WebSocket message twice. At the deadline
 * the request is aborted (the remote function runs on until its own timeout).
 */
export class LambdaIntegration implements Integration {
  readonly description: string;
  readonly kind = 'lambda';
  readonly abortable = true;
  readonly client: LambdaClient;

  constructor(
    private readonly ref: LambdaRef,
    gatewayRegion: string,
  ) {
    this.description = `lambda ${ref.functionName}${ref.endpoint ? ` at ${ref.endpoint}` : ''}`;
    this.client = new LambdaClient({
      region: ref.region ?? regionOfArn(ref.functionName) ?? gatewayRegion,
      ...(ref.endpoint ? { endpoint: ref.endpoint } : {}),
      maxAttempts: 1,
    });
  }

  start(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): unknown {
    return signal === undefined ? this.invoke(event, timeoutMs, functionName) : this.call(event, timeoutMs, signal);
  }

  invoke(event: object, timeoutMs: number, _functionName: string, signal?: AbortSignal): Promise<unknown> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const forward = () => ac.abort();
    signal?.addEventListener('abort', forward, { once: true });
    return this.call(event, timeoutMs, ac.signal).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    });
  }

  private async call(event: object, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw new IntegrationTimeout(timeoutMs);
    let out;
    try {
      out = await this.client.send(new InvokeCommand({ FunctionName: this.ref.functionName, Payload: Buffer.from(JSON.stringify(event)) }), { abortSignal: signal });
    } catch (err) {
      if (signal.aborted) throw new IntegrationTimeout(timeoutMs);
      throw err;
    }
    const text = out.Payload && out.Payload.length > 0 ? Buffer.from(out.Payload).toString() : '';
    if (out.FunctionError) {
      let message = `Lambda function error (${out.FunctionError})`;
      let errorType: string | undefined;
      try {
        const e = JSON.parse(text) as { errorMessage?: unknown; errorType?: unknown };
        if (typeof e.errorMessage === 'string') message = e.errorMessage;
        if (typeof e.errorType === 'string') errorType = e.errorType;
      } catch {
        // the payload is not the runtime's error JSON: keep the generic message
      }
      throw new LambdaFunctionError(out.FunctionError, message, errorType);
    }
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`Lambda function ${this.ref.functionName} answered a payload that is not JSON`);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
