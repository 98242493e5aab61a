import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

/** `{"action":"whoami"}` → who this connection is, as the authorizer said. */
export async function whoami(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  const authorizer = (event.requestContext as { authorizer?: Record<string, unknown> }).authorizer ?? {};
  return { statusCode: 200, body: JSON.stringify({ connectionId: event.requestContext.connectionId, user: authorizer.principalId ?? null, device: authorizer.device ?? null }) };
}
