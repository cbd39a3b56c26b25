import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface ApiIssue { path: string; message: string }

/** The error answer as API descriptions (OpenAPI) publish it; refusals may add fields of their own. */
export const apiErrorSchema = z.looseObject({
  error: z.string().describe('what went wrong and what to do, in words'),
  issues: z.array(z.object({
    path: z.string().describe('the field, dotted ("applicant.phone"), or "body", "authorization"'),
    message: z.string(),
  })).describe('one entry per field at fault; empty when no field is'),
  code: z.string().optional().describe('a stable name of the refusal (e.g. "duplicate-case", "storage-unavailable")'),
});

/** Turns "/applicant/phone" (JSON pointer) into "applicant.phone". */
const pointerToPath = (pointer: string) => pointer.replace(/^\//, '').split('/').filter(Boolean).join('.');

/** Answers the domain's own errors (refusals and the like); false when `error` is not one of them. */
export type DomainErrorAnswer = (error: FastifyError, reply: FastifyReply) => boolean;

/**
 * Every error answer has one shape: `{"error": "...", "issues": [{"path","message"}]}`. Validation errors name
 * each field; the server's own domain errors are answered by `domain`; bugs answer 500 without internals.
 */
export function errorShapeHandler(domain: DomainErrorAnswer = () => false) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'body';
      const issues: ApiIssue[] = error.validation.map((v) => ({ path: pointerToPath(v.instancePath) || where, message: v.message ?? 'invalid' }));
      void reply.code(400).send({ error: `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues });
      return;
    }
    if (domain(error, reply)) return;
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      const message = error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError ? 'the body is not valid JSON: send a JSON object' : error.message;
      void reply.code(error.statusCode).send({ error: message, issues: [{ path: 'body', message }] });
      return;
    }
    request.log.error({ err: error }, 'request failed');
    void reply.code(500).send({ error: 'internal error: it was logged; try again or call ops', issues: [] });
  };
}
