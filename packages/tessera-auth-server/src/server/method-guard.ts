import type { RequestHandler } from 'express';
import { MethodNotAllowedError } from 'tessera-auth';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * RFC 9110 §15.5.6 and §9.3.7 for every route of `paths` (OpenAPI paths): a method the route does
 * not answer is 405 with `Allow`, and OPTIONS is 204 with `Allow`. HEAD goes with GET. Runs before
 * authentication: a wrong method costs no credential check. Unknown paths pass on, to the 404.
 */
export function methodGuard(paths: Readonly<Record<string, object>>): RequestHandler {
  const routes = Object.entries(paths).map(([template, operations]) => {
    const methods = METHODS.filter((method) => method in operations).map((method) => method.toUpperCase());
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}/]+\}/g, '[^/]+');
    return { pattern: new RegExp(`^${pattern}$`), allow: [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'] };
  });
  return function allowedMethods(req, res, next) {
    const route = routes.find(({ pattern }) => pattern.test(req.path));
    if (!route) return next();
    if (req.method === 'OPTIONS') {
      res.set('allow', route.allow.join(', ')).status(204).end();
      return;
    }
    if (!route.allow.includes(req.method)) throw new MethodNotAllowedError(route.allow);
    next();
  };
}
