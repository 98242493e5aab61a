import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/**
 * The session tokens this demo knows, and whose they are. In real life: a session table or a
 * signed token. alice is signed in on three devices, bob on one.
 */
const SESSIONS: Record<string, string> = {
  'alice-laptop': 'alice',
  'alice-phone': 'alice',
  'alice-tablet': 'alice',
  'bob-laptop': 'bob',
};

/**
 * REQUEST authorizer on $connect (`?token=…`), written exactly as for AWS Lambda. The
 * principalId it returns is the user, so every connection of a user shares one principal,
 * and `DELETE /{stage}/@principals/{user}` reaches all of them.
 */
export async function authorize(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = event.queryStringParameters?.token ?? '';
  const user = SESSIONS[token];
  return {
    principalId: user ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: user ? 'Allow' : 'Deny', Resource: event.methodArn }],
    },
    context: { user: user ?? '', device: token.split('-')[1] ?? '' },
  };
}
