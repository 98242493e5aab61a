import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

// Stand-in for a real token check (a JWT verification, a session lookup…).
const TOKENS: Record<string, string> = { 'secret-alice': 'alice', 'secret-bob': 'bob' };

/** A Lambda REQUEST authorizer as written for AWS: Allow the $connect route for known tokens, Deny the rest. */
export async function authorize(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const user = TOKENS[event.queryStringParameters?.token ?? ''];
  return {
    principalId: user ?? 'anonymous',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: user ? 'Allow' : 'Deny', Resource: event.methodArn }] },
    context: { user: user ?? '' },
  };
}
