import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Refusal, type RefusalKind } from '../controller/domain/refusal.ts';
import { StorageUnavailableError } from '../controller/store/storage-health.ts';

export interface ApiIssue { path: string; message: string }

const statusOf: Record<RefusalKind, number> = { 'not-found': 404, conflict: 409, invalid: 400, unavailable: 503 };

/** Turns "/applicant/phone" (JSON pointer) into "applicant.phone". */
const pointerToPath = (pointer: string) => pointer.replace(/^\//, '').split('/').filter(Boolean).join('.');

/**
 * Every error answer has one shape: `{"error": "...", "issues": [{"path","message"}]}`; refusals add `code`.
 * Bugs answer 500 without internals.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'body';
    const issues: ApiIssue[] = error.validation.map((v) => ({ path: pointerToPath(v.instancePath) || where, message: v.message ?? 'invalid' }));
    void reply.code(400).send({ error: `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues });
    return;
  }
  if (error instanceof Refusal) {
    void reply.code(statusOf[error.kind]).send({ error: error.message, code: error.code, issues: error.path ? [{ path: error.path, message: error.message }] : [], ...error.details });
    return;
  }
  if (error instanceof StorageUnavailableError) {
    void reply.code(503).header('retry-after', '30').send({ error: `${error.message}; try again later or use the window (ops have been alerted)`, code: 'storage-unavailable', issues: [] });
    return;
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    const message = error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError ? 'the body is not valid JSON: send a JSON object' : error.message;
    void reply.code(error.statusCode).send({ error: message, issues: [{ path: 'body', message }] });
    return;
  }
  request.log.error({ err: error }, 'request failed');
  void reply.code(500).send({ error: 'internal error: the cabinet logged it; try again or call ops', issues: [] });
}
