import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies, where an empty body counts as no body: clients (curl -X POST, fetch with a JSON content type
 * and nothing to say) send `POST /cases/:caseNo/notify` that way, and it must not be a 400.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON: send a JSON object'), { statusCode: 400 }), undefined);
    }
  });
}
