import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('memory', async () => createMemoryStore());
