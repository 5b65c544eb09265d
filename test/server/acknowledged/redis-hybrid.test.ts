import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('Redis', 'hybrid');
