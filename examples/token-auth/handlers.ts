import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

type WithAuthorizer = APIGatewayProxyWebsocketEventV2 & { requestContext: { authorizer?: { principalId?: string } } };

export async function connect(): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, body: '' };
}

/** Every event of an authorized connection carries requestContext.authorizer, as on AWS. */
export async function hello(event: WithAuthorizer): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, body: `Hello, ${event.requestContext.authorizer?.principalId ?? 'stranger'}!` };
}
