import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('SQLite', 'cached stateful');
