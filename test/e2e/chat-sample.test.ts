// Handlers written the way AWS's chat sample (simple-websockets-chat-app) writes them run
// unchanged: a DynamoDB connections table (a local dynalite here, reached through
// AWS_ENDPOINT_URL_DYNAMODB in each function's environment), and a `sendmessage` that builds
// its management endpoint itself from `requestContext.apiId` (an explicit endpoint, which beats
// AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI). Two clients chat; a client that left is dropped from
// the table by $disconnect. The gateway runs as `switchboard start` from a configuration file, from
// a SAM template (`--template`) and from a serverless.yml (`--serverless`) describing the same chat.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { TestClient } from '../helpers/client.js';
import { FIXTURES } from '../helpers/gateway.js';
import { launchGateway, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

const TABLE = 'simplechat_connections';
const PROJECT = path.join(FIXTURES, 'chat-sample');

/** The chat, started by `start(dynamoDbEndpoint)`. */
function chatScenario(title: string, start: (ddbEndpoint: string) => Promise<GatewayProcess>): void {
  describe(title, () => {
    let db: Server;
    let ddbEndpoint: string;
    let ddb: DynamoDBClient;
    let gw: GatewayProcess;
    const clients: TestClient[] = [];

    before(async () => {
      db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
      await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', resolve));
      ddbEndpoint = `http://127.0.0.1:${(db.address() as AddressInfo).port}`;
      ddb = new DynamoDBClient({ endpoint: ddbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      await ddb.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
      gw = await start(ddbEndpoint);
    });

    after(async () => {
      for (const c of clients) c.ws.close();
      await gw?.stop();
      ddb?.destroy();
      await new Promise((r) => db?.close(r));
    });

    const connectionIds = async () => ((await ddb.send(new ScanCommand({ TableName: TABLE }))).Items ?? []).map((i) => i.connectionId!.S!).sort();

    it('two clients chat: a message one sends reaches both, through the endpoint sendmessage builds itself', async () => {
      const alice = await TestClient.connect(gw.url);
      const bob = await TestClient.connect(gw.url);
      clients.push(alice, bob);
      assert.equal((await connectionIds()).length, 2, '$connect stored both connections');
      alice.send({ action: 'sendmessage', data: 'hello from alice' });
      assert.equal((await alice.next(30_000)).text, 'hello from alice');
      assert.equal((await bob.next(30_000)).text, 'hello from alice');
      bob.send({ action: 'sendmessage', data: 'hi alice' });
      assert.equal((await alice.next(30_000)).text, 'hi alice');
      assert.equal((await bob.next(30_000)).text, 'hi alice');
      // No ENOTFOUND, nothing unresolved.
      assert.ok(!gw.logs().some((l) => /ENOTFOUND|callback.*failed/.test(l)), gw.logs().join('\n'));
    });

    it('a client that leaves is removed by $disconnect; the rest keep chatting', async () => {
      const [alice, bob] = clients as [TestClient, TestClient];
      bob.ws.close();
      await bob.waitClose(20_000);
      let ids: string[] = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (ids = await connectionIds()).length !== 1) await new Promise((r) => setTimeout(r, 100));
      assert.equal(ids.length, 1);
      alice.send({ action: 'sendmessage', data: 'anyone?' });
      assert.equal((await alice.next(30_000)).text, 'anyone?');
      assert.ok(gw.alive());
    });
  });
}

chatScenario('the AWS chat sample, unchanged, from a configuration file', (ddbEndpoint) => {
  // What template.yaml gives each function: TABLE_NAME; the local DynamoDB is this test's addition.
  const environment = { TABLE_NAME: TABLE, AWS_ENDPOINT_URL_DYNAMODB: ddbEndpoint };
  return startGatewayProcess({
    stage: 'Prod',
    routes: {
      $connect: { handler: './chat-sample/onconnect/app.js#handler', environment },
      $disconnect: { handler: './chat-sample/ondisconnect/app.js#handler', environment },
      sendmessage: { handler: './chat-sample/sendmessage/app.js#handler', environment },
    },
  });
});

// The local DynamoDB's address comes from the shell, as a developer would give it.
chatScenario('the AWS chat sample, unchanged, from its SAM template (start --template)', (ddbEndpoint) => launchGateway(['--template', path.join(PROJECT, 'template.yaml')], { env: { AWS_ENDPOINT_URL_DYNAMODB: ddbEndpoint } }));

chatScenario('the AWS chat sample, unchanged, from a serverless.yml (start --serverless)', (ddbEndpoint) => launchGateway(['--serverless', PROJECT], { env: { AWS_ENDPOINT_URL_DYNAMODB: ddbEndpoint } }));
