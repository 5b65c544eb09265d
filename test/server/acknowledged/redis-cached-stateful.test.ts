import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('Redis', 'cached stateful');
