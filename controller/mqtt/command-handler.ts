import { z } from 'zod';
import { caseNoSchema, plainText } from '../domain/plain-text.ts';
import { Refusal } from '../domain/refusal.ts';
import type { Services } from '../cabinet.ts';
import { hallCaseCommandSchema, type HallCaseCommand } from '../services/hall-cases.ts';
import type { ServiceContext } from '../services/context.ts';
import { isCommandName, verifyCommand } from './command-auth.ts';
import { RefusalSummaries, type RefusalSummary } from '../events/refusal-summaries.ts';
import { commandNames, type CommandName, type Topics } from './topics.ts';
import type { MqttLink } from './mqtt-link.ts';
import type { OutboxDrainer } from './outbox-drainer.ts';

/** What stands for a topic name that is not one of the cabinet's commands: the sender's text is never kept. */
const UNKNOWN_COMMAND = '(unknown)';

type Reply = { requestId: string; ok: true; result: unknown } | { requestId: string; ok: false; error: string };

const compartment = z.string().regex(/^[A-Z][0-9]{2}$/, 'compartment is like "A01"');
const argsSchemas: Record<CommandName, z.ZodType> = {
  open: z.object({ compartment, reason: plainText(200, 'reason').pipe(z.string().min(3, 'reason (3+ characters) goes into the audit chain')) }).strict(),
  disable: z.object({ compartment, reason: plainText(200, 'reason', { required: false }).optional() }).strict(),
  enable: z.object({ compartment }).strict(),
  status: z.object({}).strict(),
  retrieve: z.object({ caseNo: caseNoSchema }).strict(),
  replay: z.object({ fromSeq: z.number().int().min(1) }).strict(),
  ack: z.object({ alarmId: z.number().int().min(1, 'alarmId is the id from alarm.raised / GET /alarms'), note: plainText(200, 'note', { required: false }).optional() }).strict(),
  case: hallCaseCommandSchema,
};

/**
 * What of a command's args goes into the audit chain and the logs: everything, except a case's personal data
 * (the hall system's `case` command names its action and case number only).
 */
function auditedArgs(name: string, args: Record<string, unknown>): Record<string, unknown> {
  if (name !== 'case') return args;
  const sent = args.case as { caseNo?: unknown } | undefined;
  const caseNo = typeof args.caseNo === 'string' ? args.caseNo : typeof sent?.caseNo === 'string' ? sent.caseNo : undefined;
  return { action: typeof args.action === 'string' ? args.action : undefined, caseNo };
}

/**
 * Ops' commands on `…/cmd/{name}`. Nothing runs unless the signature, the lifetime and the topic check out.
 * A verified command's requestId and reply are stored in the same transaction as its effect, so a redelivered
 * command gets the same reply and has no second effect; its refusal (bad args, the remote-open cap) is one
 * event and audit entry of its own. Unverified commands may come from anyone who can publish, so their
 * refusals are summed up per interval and their replies rationed (RefusalSummaries).
 */
export class CommandHandler {
  readonly #refusals: RefusalSummaries;
  #offMessages: (() => void) | null = null;

  constructor(
    private readonly s: ServiceContext,
    private readonly services: Services,
    private readonly link: MqttLink,
    private readonly topics: Topics,
    private readonly key: Buffer,
    private readonly drainer: OutboxDrainer,
    private readonly publishStatus: () => Promise<void>,
  ) {
    this.#refusals = new RefusalSummaries({
      now: () => this.s.store.clock.now(),
      write: (summary) => this.#recordUnverified(summary),
      onWriteError: (error) => this.s.logger.error({ err: error }, 'refused commands not recorded (storage failing)'),
    });
  }

  start(): void {
    this.#offMessages = this.link.onMessage(({ topic, payload }) => {
      const name = this.topics.commandName(topic);
      if (name !== null) void this.handle(name, payload);
    });
  }

  /** Stops listening and writes the refusals still being summed up. */
  stop(): void {
    this.#offMessages?.();
    this.#offMessages = null;
    this.#refusals.stop();
  }

  async handle(name: string, payload: Buffer): Promise<Reply | null> {
    const verification = verifyCommand(this.key, name, payload, this.s.store.clock.now());
    if (!verification.ok) {
      const { requestId, error } = verification;
      const answer = this.#refusals.refuse({ name: isCommandName(name) ? name : UNKNOWN_COMMAND, error, requestId });
      // Not recorded under its requestId: a forged command must not poison the real one's reply.
      if (!answer || requestId === null) return null;
      return this.#reply({ requestId, ok: false, error });
    }
    const { requestId, args } = verification.command;
    const stored = this.s.store.db.prepare('SELECT reply FROM commands WHERE request_id = ?').get(requestId) as { reply: string } | undefined;
    if (stored) return this.#reply(JSON.parse(stored.reply) as Reply);

    let after: (() => Promise<unknown>) | null = null;
    const reply = this.s.store.change((ctx): Reply => {
      let reply: Reply;
      try {
        if (!(commandNames as readonly string[]).includes(name)) throw new Refusal('invalid', 'unknown-command', `no command "${name}": commands are ${commandNames.join(', ')} (there is no "open all")`);
        const parsed = argsSchemas[name as CommandName].safeParse(args);
        if (!parsed.success) throw new Refusal('invalid', 'bad-args', parsed.error.issues.map((i) => `args.${i.path.join('.')}: ${i.message}`).join('; '));
        const a = parsed.data as { compartment: string; reason: string; caseNo: string; fromSeq: number; alarmId: number; note?: string };
        const actor = `ops:mqtt:${requestId}`;
        let result: unknown;
        switch (name as CommandName) {
          case 'open': result = this.services.compartments.remoteOpen(a.compartment, a.reason, actor); break;
          case 'disable': result = this.services.compartments.disable(a.compartment, a.reason, actor); break;
          case 'enable': result = this.services.compartments.enable(a.compartment, actor); break;
          case 'retrieve': result = this.services.retrieval.retrieve(a.caseNo, actor); break;
          case 'status': result = { published: true }; after = () => this.publishStatus(); break;
          case 'ack': result = this.services.alarms.acknowledge(a.alarmId, actor, a.note); break;
          case 'case': result = this.services.hallCases.apply(parsed.data as HallCaseCommand, actor); break;
          case 'replay': {
            const fromSeq = a.fromSeq;
            const kept = this.s.store.db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM events WHERE seq >= ?').get(fromSeq) as { lo: number | null; hi: number | null };
            result = { fromSeq, firstKept: kept.lo, lastSeq: kept.hi };
            after = () => this.drainer.replay(fromSeq);
            break;
          }
        }
        reply = { requestId, ok: true, result };
        ctx.event('cmd.executed', { name, requestId });
        ctx.audit('ops:mqtt', 'cmd.executed', { name, requestId, args: auditedArgs(name, args) });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        reply = { requestId, ok: false, error: error.message };
        ctx.event('cmd.refused', { name, requestId, error: error.code, ...(error.code === 'remote-open-cap' ? { alarm: true } : {}) });
        ctx.audit('ops:mqtt', 'cmd.refused', { name, requestId, error: error.code });
      }
      this.s.store.db.prepare('INSERT INTO commands (request_id, name, received_at, reply) VALUES (?, ?, ?, ?)').run(requestId, name, ctx.now, JSON.stringify(reply));
      return reply;
    });
    await this.#reply(reply);
    if (after) await (after as () => Promise<unknown>)();
    return reply;
  }

  /** One event and one audit entry for a span of unverified commands (CmdRefusedData's summary form). */
  #recordUnverified(summary: RefusalSummary): void {
    this.s.logger.warn({ ...summary }, 'commands refused');
    this.s.store.change((ctx) => {
      ctx.event('cmd.refused', { ...summary });
      ctx.audit('ops:mqtt', 'cmd.refused', { ...summary });
    });
  }

  async #reply(reply: Reply): Promise<Reply> {
    try {
      await this.link.publish(this.topics.reply, JSON.stringify(reply), { qos: 1, expirySeconds: 300 });
    } catch {
      this.s.logger.warn({ requestId: reply.requestId }, 'reply not delivered (broker offline); a repeated command gets it again');
    }
    return reply;
  }
}
