import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('SQLite', 'hybrid');
