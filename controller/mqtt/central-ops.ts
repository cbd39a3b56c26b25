import { join } from 'node:path';
import type { Services } from '../cabinet.ts';
import type { ServiceContext } from '../services/context.ts';
import { loadOrCreateCommandKey } from './command-auth.ts';
import { CommandHandler } from './command-handler.ts';
import { MqttLink, type MqttState } from './mqtt-link.ts';
import { NotifyDrainer } from './notify-drainer.ts';
import { OutboxDrainer } from './outbox-drainer.ts';
import { StatusReporter, type StatusSnapshot } from './status-reporter.ts';
import { Topics } from './topics.ts';

/** Events that change what `…/status` shows. */
const STATUS_EVENTS = /^(compartment\.|door\.|hardware\.|item\.loaded|pickup\.(completed|incomplete)|case\.retrieved|cabinet\.)/;

/** Events whose change queued a message for the SMS gateway. */
const NOTIFY_EVENTS = new Set(['case.ready', 'credential.reissued', 'credential.reminded']);

export const COMMAND_KEY_FILE = 'command.key';

/** Everything the cabinet says to and hears from central ops over MQTT (CONTRACT §4). */
export class CentralOpsLink {
  readonly topics: Topics;
  readonly link: MqttLink;
  readonly drainer: OutboxDrainer;
  readonly notify: NotifyDrainer;
  readonly status: StatusReporter;
  readonly commands: CommandHandler;
  readonly #offBus: (() => void)[] = [];

  constructor(private readonly s: ServiceContext, services: Services, private readonly meta: { bootId: string; version: string }) {
    const config = s.config.mqtt!;
    this.topics = new Topics(s.config.cabinetId);
    this.link = new MqttLink({
      config,
      clientId: `govlocker-${s.config.cabinetId}`,
      will: { topic: this.topics.status, payload: StatusReporter.offline(meta.bootId) },
      subscriptions: [this.topics.commands],
      logger: s.logger.child({ part: 'mqtt' }),
    });
    this.drainer = new OutboxDrainer(s.store.db, this.link, this.topics, {
      window: config.window, keepSentDays: config.keepSentDays, maxUnsent: config.maxUnsent, logger: s.logger, now: () => s.store.clock.now(),
      onOverflow: (dropped) => s.store.change((ctx) => ctx.event('outbox.overflow', { droppedFrom: dropped.from, droppedTo: dropped.to })),
    });
    this.notify = new NotifyDrainer({
      db: s.store.db, link: this.link, topics: this.topics, decrypt: (blob) => s.keyring.decrypt(blob), logger: s.logger,
      reminderStillWanted: (caseNo) => services.reminders.stillWanted(caseNo),
    });
    this.status = new StatusReporter(this.link, this.topics, () => this.snapshot(), s.logger);
    const key = loadOrCreateCommandKey(config.commandKeyFile ?? join(s.config.dataDir, COMMAND_KEY_FILE));
    this.commands = new CommandHandler(s, services, this.link, this.topics, key, this.drainer, () => this.status.publish());
  }

  get state(): MqttState {
    return this.link.state;
  }

  start(): void {
    this.drainer.start();
    this.notify.start();
    this.status.start();
    this.commands.start();
    this.#offBus.push(this.s.bus.events.add((event) => {
      this.drainer.kick();
      if (NOTIFY_EVENTS.has(event.type)) this.notify.kick();
      if (STATUS_EVENTS.test(event.type)) this.status.changed();
    }));
    this.#offBus.push(this.s.board.onLink(() => this.status.changed()));
    // Status is published directly, not through the outbox, so a full disk still reaches ops.
    this.#offBus.push(this.s.store.health.onChange(() => this.status.changed()));
    this.link.start();
  }

  async stop(): Promise<void> {
    for (const off of this.#offBus.splice(0)) off();
    this.commands.stop();
    this.status.stop();
    this.drainer.stop();
    await this.link.stop([{ topic: this.topics.status, payload: StatusReporter.offline(this.meta.bootId), retain: true }]);
    this.drainer.flush();
  }

  snapshot(): StatusSnapshot {
    const counts = this.#counts();
    return {
      online: true,
      bootId: this.meta.bootId,
      ts: new Date().toISOString(),
      version: this.meta.version,
      compartments: counts,
      hardware: this.s.board.link === 'ok' ? 'ok' : 'lost',
      storage: this.s.store.health.state.ok ? 'ok' : 'failing',
      outbox: this.s.store.outbox.depth(),
    };
  }

  #counts(): StatusSnapshot['compartments'] {
    const all = this.s.repos.compartments.all();
    const c = { total: all.length, empty: 0, loaded: 0, fault: 0, disabled: 0 };
    for (const x of all) {
      if (x.service === 'disabled') c.disabled++;
      // A compartment held for a clerk (an item left behind, a foreign object) is not free: ops see it as a fault.
      else if (x.service === 'fault' || x.hold) c.fault++;
      else if (x.loadedItems > 0) c.loaded++;
      else if (x.caseNo === null) c.empty++;
    }
    return c;
  }
}
