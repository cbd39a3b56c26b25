import { describe, expect, it } from 'vitest';
import { CabinetModel, SimError } from '../../simulator/cabinet-model.ts';

function cabinet(now = { t: 0 }) {
  const model = new CabinetModel(
    [
      { id: 'A01', lockChannel: 2, doorSensor: 26 },
      { id: 'A02', lockChannel: 3, doorSensor: 27 },
    ],
    { now: () => now.t },
  );
  return { model, now };
}

describe('CabinetModel', () => {
  it('a rising relay edge is one latch pulse and springs a closed door open', () => {
    const { model } = cabinet();
    model.setRelay(2, true);
    expect(model.snapshot().A01).toMatchObject({ open: true, latchPulses: 1, relay: true, sensorOpen: true });
    model.setRelay(2, true); // still energised: no second pulse
    model.setRelay(2, false);
    expect(model.snapshot().A01).toMatchObject({ open: true, latchPulses: 1, relay: false });
    expect(model.snapshot().A02).toMatchObject({ open: false, latchPulses: 0 });
  });

  it('a jammed latch counts the pulse but the door stays shut', () => {
    const { model } = cabinet();
    model.setFault('A01', 'jam');
    model.setRelay(2, true);
    model.setRelay(2, false);
    expect(model.snapshot().A01).toMatchObject({ open: false, latchPulses: 1, fault: 'jam' });
    expect(model.sensorLevel(26)).toBe(false);
  });

  it('a pulse on an open door counts but changes nothing else', () => {
    const { model } = cabinet();
    model.force('A01');
    model.setRelay(2, true);
    expect(model.snapshot().A01).toMatchObject({ open: true, latchPulses: 1 });
  });

  it('a stuck sensor keeps reporting the level it had when the fault was set', () => {
    const { model } = cabinet();
    model.setFault('A01', 'sensor-stuck');
    model.setRelay(2, true);
    expect(model.snapshot().A01).toMatchObject({ open: true, sensorOpen: false });
    expect(model.sensorLevel(26)).toBe(false);
    model.setFault('A01', null);
    expect(model.sensorLevel(26)).toBe(true);
  });

  it('a person closes an open door and may leave an item inside', () => {
    const { model } = cabinet();
    model.force('A02');
    model.close('A02', { occupied: true });
    expect(model.snapshot().A02).toMatchObject({ open: false, occupied: true });
    model.setOccupied('A02', false);
    expect(model.snapshot().A02!.occupied).toBe(false);
  });

  it('refuses what a person cannot do, saying why', () => {
    const { model } = cabinet();
    expect(() => model.close('A01')).toThrowError(new SimError('door A01 is already closed'));
    expect(() => model.close('Z99')).toThrowError(/no door "Z99"/);
    expect(() => model.force('Z99')).toThrowError(SimError);
    model.force('A01');
    expect(() => model.force('A01')).toThrowError(/already open/);
  });

  it('refuses a cabinet whose doors share a wire', () => {
    expect(() => new CabinetModel([{ id: 'A01', lockChannel: 2, doorSensor: 26 }, { id: 'A02', lockChannel: 2, doorSensor: 27 }])).toThrowError(/share lock channel 2/);
  });

  it('unknown wires read as nothing and drive nothing', () => {
    const { model } = cabinet();
    expect(model.sensorLevel(99)).toBeUndefined();
    model.setRelay(99, true);
    expect(Object.values(model.snapshot()).every((d) => d.latchPulses === 0)).toBe(true);
  });

  it('tells how long a relay has been energised, so a test can prove none is held', () => {
    const { model, now } = cabinet();
    expect(model.relayEnergisedMs('A01')).toBe(0);
    now.t = 100;
    model.setRelay(2, true);
    now.t = 350;
    expect(model.relayEnergisedMs('A01')).toBe(250);
    model.setRelay(2, false);
    expect(model.relayEnergisedMs('A01')).toBe(0);
  });

  it('reports every change to its listeners until they unsubscribe', () => {
    const { model } = cabinet();
    const seen: string[] = [];
    const off = model.onChange((id) => seen.push(id));
    model.setRelay(2, true);
    model.setRelay(2, false);
    model.setFault('A02', 'jam');
    model.force('A02');
    off();
    model.close('A02');
    expect(seen).toEqual(['A01', 'A01', 'A02', 'A02']);
  });
});
