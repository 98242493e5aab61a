import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

/** Two-way route: the message comes back as it was sent. */
export async function echo(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, body: event.body ?? '' };
}

/** Tells the caller its own connection id. */
export async function whoami(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, body: JSON.stringify({ connectionId: event.requestContext.connectionId }) };
}

/** Anything no other route takes. */
export async function fallback(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, body: JSON.stringify({ error: 'unknown action', try: ['echo', 'whoami', 'sendmessage'], received: event.body }) };
}
