import { createMemoryStore } from '../../src/stores/memory.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('memory', async () => createMemoryStore());
