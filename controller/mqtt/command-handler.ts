import { z } from 'zod';
import { Refusal } from '../domain/refusal.ts';
import type { Services } from '../cabinet.ts';
import type { ServiceContext } from '../services/context.ts';
import { verifyCommand } from './command-auth.ts';
import { commandNames, type CommandName, type Topics } from './topics.ts';
import type { MqttLink } from './mqtt-link.ts';
import type { OutboxDrainer } from './outbox-drainer.ts';

type Reply = { requestId: string; ok: true; result: unknown } | { requestId: string; ok: false; error: string };

const compartment = z.string().regex(/^[A-Z][0-9]{2}$/, 'compartment is like "A01"');
const argsSchemas: Record<CommandName, z.ZodType> = {
  open: z.object({ compartment, reason: z.string().trim().min(3, 'reason (3+ characters) goes into the audit chain').max(200) }).strict(),
  disable: z.object({ compartment, reason: z.string().max(200).optional() }).strict(),
  enable: z.object({ compartment }).strict(),
  status: z.object({}).strict(),
  retrieve: z.object({ caseNo: z.string().min(1).max(32) }).strict(),
  replay: z.object({ fromSeq: z.number().int().min(1) }).strict(),
  ack: z.object({ alarmId: z.number().int().min(1, 'alarmId is the id from alarm.raised / GET /alarms'), note: z.string().trim().max(200, 'note is at most 200 characters').optional() }).strict(),
};

/**
 * Ops' commands on `…/cmd/{name}`. Nothing runs unless the signature, the lifetime and the topic check out.
 * A verified command's requestId and reply are stored in the same transaction as its effect, so a redelivered
 * command gets the same reply and has no second effect. Refused commands are audited and reported.
 */
export class CommandHandler {
  constructor(
    private readonly s: ServiceContext,
    private readonly services: Services,
    private readonly link: MqttLink,
    private readonly topics: Topics,
    private readonly key: Buffer,
    private readonly drainer: OutboxDrainer,
    private readonly publishStatus: () => Promise<void>,
  ) {}

  start(): void {
    this.link.onMessage(({ topic, payload }) => {
      const name = this.topics.commandName(topic);
      if (name !== null) void this.handle(name, payload);
    });
  }

  async handle(name: string, payload: Buffer): Promise<Reply | null> {
    const verification = verifyCommand(this.key, name, payload, this.s.store.clock.now());
    if (!verification.ok) {
      this.s.logger.warn({ command: name, requestId: verification.requestId, error: verification.error }, 'command refused');
      this.s.store.change((ctx) => {
        ctx.event('cmd.refused', { name, requestId: verification.requestId, error: verification.error });
        ctx.audit('ops:mqtt', 'cmd.refused', { name, requestId: verification.requestId, error: verification.error });
      });
      // Not recorded under its requestId: a forged command must not poison the real one's reply.
      if (!verification.requestId) return null;
      return this.#reply({ requestId: verification.requestId, ok: false, error: verification.error });
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
        ctx.audit('ops:mqtt', 'cmd.executed', { name, requestId, args });
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

  async #reply(reply: Reply): Promise<Reply> {
    try {
      await this.link.publish(this.topics.reply, JSON.stringify(reply), { qos: 1, expirySeconds: 300 });
    } catch {
      this.s.logger.warn({ requestId: reply.requestId }, 'reply not delivered (broker offline); a repeated command gets it again');
    }
    return reply;
  }
}
