import type { Logger } from 'pino';
import type { CabinetBoard } from '../../firmware-bridge/ports.ts';
import type { CabinetConfig } from '../config/schema.ts';
import type { EventBus } from '../events/bus.ts';
import type { Keyring } from '../secrets/keyring.ts';
import type { EvidenceService } from './evidence.ts';
import { AlarmsRepo } from '../store/alarms-repo.ts';
import { CasesRepo } from '../store/cases-repo.ts';
import { CompartmentsRepo } from '../store/compartments-repo.ts';
import { GuardRepo } from '../store/guard-repo.ts';
import { LoadsRepo, OpensRepo } from '../store/opens-repo.ts';
import type { CabinetStore } from '../store/store.ts';
import { UsersRepo } from '../store/users-repo.ts';

/** Everything a service needs, passed as one object (not a growing argument list). */
export interface ServiceContext {
  readonly config: CabinetConfig;
  readonly store: CabinetStore;
  readonly repos: Repos;
  readonly board: CabinetBoard;
  readonly bus: EventBus;
  readonly keyring: Keyring;
  readonly logger: Logger;
  /** Camera evidence: the still of each door event, and whether a required camera lets service go on. */
  readonly evidence: EvidenceService;
}

export interface Repos {
  readonly cases: CasesRepo;
  readonly compartments: CompartmentsRepo;
  readonly opens: OpensRepo;
  readonly loads: LoadsRepo;
  readonly guard: GuardRepo;
  readonly users: UsersRepo;
  readonly alarms: AlarmsRepo;
}

export function makeRepos(store: CabinetStore): Repos {
  const db = store.db;
  return { cases: new CasesRepo(db), compartments: new CompartmentsRepo(db), opens: new OpensRepo(db), loads: new LoadsRepo(db), guard: new GuardRepo(db), users: new UsersRepo(db), alarms: new AlarmsRepo(db) };
}
