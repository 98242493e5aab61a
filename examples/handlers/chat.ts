import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

// The AWS chat sample, unchanged but for where the connection ids live: on AWS a DynamoDB
// table, here a Set in this module (one process). Its handlers call back through the official
// SDK exactly as on AWS.
const connections = new Set<string>();

/**
 * The callback endpoint. On AWS it is https://{domainName}/{stage}; Switchboard gives handlers
 * AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, which the SDK also reads by itself.
 */
function client(event: APIGatewayProxyWebsocketEventV2): ApiGatewayManagementApiClient {
  const { domainName, stage } = event.requestContext;
  return new ApiGatewayManagementApiClient({ endpoint: process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI ?? `https://${domainName}/${stage}` });
}

export async function connect(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  connections.add(event.requestContext.connectionId);
  return { statusCode: 200, body: 'Connected.' };
}

export async function disconnect(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  connections.delete(event.requestContext.connectionId);
  return { statusCode: 200, body: 'Disconnected.' };
}

export async function sendMessage(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> {
  let data: unknown;
  try {
    data = (JSON.parse(event.body ?? '{}') as { data?: unknown }).data;
  } catch {
    return { statusCode: 400, body: 'Expected JSON.' };
  }
  const api = client(event);
  const payload = typeof data === 'string' ? data : JSON.stringify(data ?? null);
  await Promise.all(
    [...connections].map(async (connectionId) => {
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload }));
      } catch (err) {
        // A stale id (the client went away): forget it, as the AWS sample does.
        if (err instanceof GoneException) connections.delete(connectionId);
        else throw err;
      }
    }),
  );
  return { statusCode: 200, body: 'Data sent.' };
}
