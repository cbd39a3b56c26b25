import type { FastifyError, FastifyReply } from 'fastify';
import { Refusal, type RefusalKind } from '../controller/domain/refusal.ts';
import { StorageUnavailableError } from '../controller/store/storage-health.ts';
import { errorShapeHandler } from '../http-common/error-shape.ts';

export type { ApiIssue } from '../http-common/error-shape.ts';

const statusOf: Record<RefusalKind, number> = { 'not-found': 404, conflict: 409, invalid: 400, unavailable: 503, forbidden: 403 };

/** The cabinet's own refusals carry a stable `code`; a database that cannot be written is a 503 to retry. */
function answerCabinetError(error: FastifyError, reply: FastifyReply): boolean {
  if (error instanceof Refusal) {
    void reply.code(statusOf[error.kind]).send({ error: error.message, code: error.code, issues: error.path ? [{ path: error.path, message: error.message }] : [], ...error.details });
    return true;
  }
  if (error instanceof StorageUnavailableError) {
    void reply.code(503).header('retry-after', '30').send({ error: `${error.message}; try again later or use the window (ops have been alerted)`, code: 'storage-unavailable', issues: [] });
    return true;
  }
  return false;
}

/** Every error answer has one shape: `{"error": "...", "issues": [{"path","message"}]}`; refusals add `code`. */
export const errorHandler = errorShapeHandler(answerCabinetError);
