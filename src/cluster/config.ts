import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { ClusterSchema } from '../config/schema.js';

/** The `cluster` config key after defaults (validated in src/config/schema.ts). */
export type ClusterConfig = z.output<typeof ClusterSchema>;
export type ClusterConfigInput = z.input<typeof ClusterSchema>;

/** Validates and fills defaults (for callers that build a cluster config in code, e.g. tests). */
export function clusterConfig(input: ClusterConfigInput): ClusterConfig {
  return ClusterSchema.parse(input);
}

/** A fresh node id: random 96 bits, base64url (16 characters). */
export function newNodeId(): string {
  return randomBytes(12).toString('base64url');
}

/** The configured node id, or a random one for `auto`. */
export function resolveNodeId(c: ClusterConfig): string {
  return c.nodeId === 'auto' ? newNodeId() : c.nodeId;
}
