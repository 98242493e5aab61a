/**
 * `switchboard/client`: a small typed client for a Switchboard gateway's management API,
 * signing with SigV4 like the AWS SDK. See docs/extensions.md and docs/openapi.yaml.
 */
export { SwitchboardClient, type SwitchboardClientOptions } from './client.js';
export { SwitchboardError } from './errors.js';
export { Group } from './group.js';
export { Principal } from './principal.js';
export type {
  BulkCloseOptions,
  CloseOptions,
  CloseResult,
  ConnectionDetails,
  ConnectionPage,
  CredentialProvider,
  Credentials,
  Data,
  FailedSend,
  Identity,
  ListedConnection,
  ListOptions,
  NodeInfo,
  PageOptions,
  SendOptions,
  SendResult,
} from './types.js';
