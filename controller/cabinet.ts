import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FirmataBoard } from '../firmware-bridge/firmata/firmata-board.ts';
import { LockboardBoard } from '../firmware-bridge/lockboard/lockboard-board.ts';
import type { CabinetBoard, IdReader, Scanner } from '../firmware-bridge/ports.ts';
import { IdCardReader } from '../firmware-bridge/idcard/reader.ts';
import { SnapshotClient } from '../firmware-bridge/camera/snapshot-client.ts';
import type { StillCamera } from '../firmware-bridge/ports.ts';
import { LineScanner } from '../firmware-bridge/scanner/line-scanner.ts';
import type { CabinetConfig } from './config/schema.ts';
import { EventBus, type IdReaderState } from './events/bus.ts';
import { CentralOpsLink } from './mqtt/central-ops.ts';
import { KEY_FILE_NAME, Keyring } from './secrets/keyring.ts';
import { AlarmService } from './services/alarms.ts';
import { CaseService } from './services/cases.ts';
import { CompartmentAdminService } from './services/compartment-admin.ts';
import { makeRepos, type ServiceContext } from './services/context.ts';
import { CredentialService } from './services/credentials.ts';
import { EvidenceService, type CameraHealth } from './services/evidence.ts';
import { DoorService } from './services/doors.ts';
import { ExpiryService } from './services/expiry.ts';
import { HallCaseService } from './services/hall-cases.ts';
import { IdCardService } from './services/id-card.ts';
import { LoadingService } from './services/loading.ts';
import { DepositService } from './services/deposits.ts';
import { LostCodeService } from './services/lost-code.ts';
import { PickupService } from './services/pickup.ts';
import { PurgeService } from './services/purge.ts';
import { RatingService } from './services/rating.ts';
import { ReminderService } from './services/reminders.ts';
import { RetrievalService } from './services/retrieval.ts';
import { StaffSignin } from './services/staff-signin.ts';
import { StorageWatch } from './services/storage-watch.ts';
import { openDatabase } from './store/database.ts';
import { CabinetStore, systemClock, type Clock } from './store/store.ts';
import { newToken } from './store/users-repo.ts';

/** The driver the config names, wired to every compartment's lock and door. */
function boardFor(config: CabinetConfig, logger: Logger): CabinetBoard {
  const { hardware, compartments } = config;
  if (hardware.driver === 'lockboard') {
    // Lock-board compartments carry board and channel (the config refuses one without them).
    return new LockboardBoard({ bus: hardware.bus, locks: compartments.map((c) => ({ board: c.board!, channel: c.channel! })), logger });
  }
  return new FirmataBoard({
    transport: hardware.transport,
    pulseMs: hardware.pulseMs,
    debounceMs: hardware.debounceMs,
    lockChannels: compartments.map((c) => c.lockChannel),
    doorSensors: compartments.map((c) => c.doorSensor),
    logger,
  });
}

/** The camera the config names (`camera.snapshotUrl`), or none. */
function cameraFor(config: CabinetConfig): StillCamera | null {
  const { camera } = config;
  return camera ? new SnapshotClient({ url: camera.snapshotUrl, username: camera.username, password: camera.password, timeoutMs: camera.timeoutMs }) : null;
}

export const VERSION = '0.1.0';
export const DATABASE_FILE = 'govlocker.db';

export interface CabinetParts {
  /** Defaults to the driver the config names (`hardware.driver`: Firmata or RS-485 lock boards). */
  readonly board?: CabinetBoard;
  /** Defaults to the config's scanner; `null` for none. */
  readonly scanner?: Scanner | null;
  /** Defaults to the config's ID-card reader (`idReader`); `null` for none. */
  readonly idReader?: IdReader | null;
  readonly clock?: Clock;
  readonly logger: Logger;
  /** Seeds the first admin on an empty database (GOVLOCKER_ADMIN_TOKEN). */
  readonly adminToken?: string;
  /** Defaults to the config's camera (`camera`); `null` for none. */
  readonly camera?: StillCamera | null;
  /** How often a camera that is down is asked again (ms; 30 s unless a test says otherwise). */
  readonly cameraProbeMs?: number;
}

export interface Services {
  readonly cases: CaseService;
  /** Cases from the hall's case system: created, amended and cancelled, idempotent by case number. */
  readonly hallCases: HallCaseService;
  readonly loading: LoadingService;
  readonly pickup: PickupService;
  readonly retrieval: RetrievalService;
  readonly compartments: CompartmentAdminService;
  readonly expiry: ExpiryService;
  /** The reminder to the SMS gateway before a credential expires. */
  readonly reminders: ReminderService;
  /** "没收到取件码？" at the kiosk: a lost code sent again. */
  readonly lostCode: LostCodeService;
  /** 容缺材料: documents deposited at the kiosk until a clerk takes them out. */
  readonly deposits: DepositService;
  readonly doors: DoorService;
  readonly purge: PurgeService;
  readonly alarms: AlarmService;
  readonly rating: RatingService;
  readonly storage: StorageWatch;
  readonly idCards: IdCardService;
  /** People signing in with a name and a password, and their sessions. */
  readonly staff: StaffSignin;
}

/**
 * The composition root: builds every part from the config, starts them in order (store, board, journal
 * reconciliation, scanner, sweeps) and stops them in reverse. Constructors only store their arguments.
 */
export class Cabinet {
  readonly bootId = randomUUID();
  readonly startedAt = Date.now();
  readonly bus: EventBus;
  readonly store: CabinetStore;
  readonly keyring: Keyring;
  readonly board: CabinetBoard;
  readonly scanner: Scanner | null;
  readonly idReader: IdReader | null;
  readonly services: Services;
  readonly context: ServiceContext;
  /** Central ops over MQTT, when the config names a broker. */
  readonly centralOps: CentralOpsLink | null;
  /** Printed once when a first admin was made without GOVLOCKER_ADMIN_TOKEN. */
  generatedAdminToken: string | null = null;
  #stopping = false;

  constructor(readonly config: CabinetConfig, private readonly parts: CabinetParts) {
    const logger = parts.logger;
    this.bus = new EventBus((error) => logger.error({ err: error }, 'an event listener failed'));
    const keyWasThere = existsSync(join(config.dataDir, KEY_FILE_NAME));
    this.store = new CabinetStore(openDatabase(join(config.dataDir, DATABASE_FILE)), this.bootId, this.bus, parts.clock ?? systemClock);
    // A new key beside old data would make every stored code and ID suffix unmatchable: refuse instead.
    if (!keyWasThere && (this.store.db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n > 0) {
      this.store.close();
      throw new Error(`${join(config.dataDir, KEY_FILE_NAME)} is missing but the database holds cases: restore the key file from the backup (without it no pickup code can be checked)`);
    }
    this.keyring = Keyring.openOrCreate(config.dataDir);
    this.board = parts.board ?? boardFor(config, logger.child({ part: 'board' }));
    this.scanner = parts.scanner !== undefined ? parts.scanner : config.scanner ? new LineScanner({ transport: config.scanner.transport, logger: logger.child({ part: 'scanner' }) }) : null;
    this.idReader = parts.idReader !== undefined ? parts.idReader : config.idReader ? new IdCardReader({ transport: config.idReader.transport, logger: logger.child({ part: 'id-reader' }) }) : null;
    const repos = makeRepos(this.store);
    const evidence = new EvidenceService({ config, store: this.store, repos, logger, keyring: this.keyring }, parts.camera !== undefined ? parts.camera : cameraFor(config), { probeMs: parts.cameraProbeMs });
    this.context = { config, store: this.store, repos, board: this.board, bus: this.bus, keyring: this.keyring, logger, evidence };
    const doors = new DoorService(this.context);
    const credentials = new CredentialService(this.context);
    const idCards = new IdCardService(this.context, credentials);
    const cases = new CaseService(this.context, credentials);
    this.services = {
      idCards,
      doors,
      cases,
      hallCases: new HallCaseService(this.context, cases, credentials),
      loading: new LoadingService(this.context, doors, credentials),
      pickup: new PickupService(this.context, doors, credentials, idCards),
      retrieval: new RetrievalService(this.context, doors),
      compartments: new CompartmentAdminService(this.context, doors),
      expiry: new ExpiryService(this.context),
      reminders: new ReminderService(this.context),
      lostCode: new LostCodeService(this.context, credentials, idCards),
      deposits: new DepositService(this.context, doors, credentials, idCards),
      purge: new PurgeService(this.context),
      alarms: new AlarmService(this.context),
      storage: new StorageWatch(this.context, doors),
      rating: new RatingService(this.context),
      staff: new StaffSignin(this.context),
    };
    this.centralOps = config.mqtt ? new CentralOpsLink(this.context, this.services, { bootId: this.bootId, version: VERSION }) : null;
  }

  get logger(): Logger {
    return this.parts.logger;
  }

  async start(): Promise<void> {
    const { repos } = this.context;
    repos.compartments.syncWithConfig(this.config.compartments);
    this.#seedAdmin();
    this.services.storage.start();
    this.services.doors.start();
    try {
      await this.board.start({ readyTimeoutMs: this.config.hardware.readyTimeoutMs });
    } catch (error) {
      // The board keeps reconnecting in the background; until then pickups are refused with a clear message.
      this.logger.error({ err: (error as Error).message }, 'lock board not reachable yet: running degraded, retrying');
      this.store.change((ctx) => ctx.event('hardware.lost', { at: 'start' }));
    }
    if (this.board.link === 'ok') {
      this.services.doors.reconcileJournal();
      this.services.doors.syncDoors();
    }
    if (this.scanner) {
      this.scanner.onLine((line) => this.services.pickup.scan(line));
      await this.scanner.start();
    }
    if (this.idReader) {
      this.idReader.onCard((card) => this.services.idCards.cardRead(card));
      this.idReader.onLink((link) => this.services.idCards.readerLink(link));
      await this.idReader.start();
    }
    this.services.expiry.start();
    this.services.reminders.start();
    this.services.purge.start();
    this.context.evidence.start();
    this.centralOps?.start();
    this.store.change((ctx) => {
      ctx.event('cabinet.started', { version: VERSION, hardware: this.board.link === 'ok' ? 'ok' : 'lost' });
    });
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.services.expiry.stop();
    this.services.reminders.stop();
    this.services.purge.stop();
    await this.context.evidence.stop();
    await this.centralOps?.stop();
    this.services.doors.stop();
    this.services.storage.stop();
    await this.scanner?.stop();
    this.services.pickup.stop();
    await this.idReader?.stop();
    await this.board.stop();
    this.store.close();
  }

  /**
   * CONTRACT §2's health, plus the number of open alarms (which do not by themselves make it `degraded`) and
   * whether the database takes writes. Reads only, so it answers while the disk is full.
   */
  health(): { status: 'ok' | 'degraded'; hardware: 'ok' | 'lost'; mqtt: 'connected' | 'offline' | 'disabled'; outbox: number; alarms: number; storage: 'ok' | 'failing'; idReader: IdReaderState; camera: CameraHealth } {
    const hardware = this.board.link === 'ok' ? 'ok' : 'lost';
    const mqtt = this.centralOps ? (this.centralOps.state === 'connected' ? 'connected' : 'offline') : 'disabled';
    const storage = this.store.health.state.ok ? 'ok' : 'failing';
    // A camera that is not required is evidence only: down, it does not make the cabinet degraded.
    const status = hardware === 'ok' && mqtt !== 'offline' && storage === 'ok' && this.context.evidence.refusal() === null ? 'ok' : 'degraded';
    // The reader is a convenience (a typed suffix always works): it does not make the cabinet degraded.
    const idReader = IdCardService.stateOf(this.idReader);
    return { status, hardware, mqtt, outbox: this.store.outbox.depth(), alarms: this.services.alarms.openCount(), storage, idReader, camera: this.context.evidence.health };
  }

  #seedAdmin(): void {
    const { users } = this.context.repos;
    // Until there is an admin (clerks may have been added offline first), the cabinet makes one.
    if (users.count('admin') > 0) return;
    const token = this.parts.adminToken || newToken();
    const name = users.byName('admin') ? `admin-${Date.now()}` : 'admin';
    this.store.change((ctx) => {
      users.add(name, 'admin', token, ctx.now);
      ctx.audit('cabinet', 'user.added', { name, role: 'admin', seeded: true });
    });
    if (!this.parts.adminToken) this.generatedAdminToken = token;
  }
}
