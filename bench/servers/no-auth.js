// The ceiling: the same route with no authentication at all.
import express from 'express';
import { listen, USER } from './common.js';

const app = express();
app.post('/login', (_req, res) => res.json({ ok: true }));
app.get('/me', (_req, res) => res.json({ id: USER.id }));
listen(app);
