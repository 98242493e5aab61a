import { MemoryRegistry } from '../../src/registry/registry-memory.js';
import { registryContract } from './registry.contract.js';

registryContract('MemoryRegistry', () => new MemoryRegistry());
