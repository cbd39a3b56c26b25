import { defineBoardConformance } from './board-suite.ts';
import { openFirmataRig } from './firmata-rig.ts';

// FirmataBoard × the genuine StandardFirmata 2.4 on an emulated Uno (avr8js, real time) over TCP. A01 (relay D2,
// switch D10), A07 (D8, A3) and A03 (D4, D12). One Uno serves the whole file: it boots once (≈1.9 s), and again
// for the restart test. Firmata 2.4 has no PULLUP pin mode: the driver's door switches use INPUT written HIGH
// (simulator/genuine-firmata/README.md), which the door-edge test here holds it to.

defineBoardConformance({
  name: 'FirmataBoard × the genuine StandardFirmata 2.4',
  open: () => openFirmataRig('genuine', ['A01', 'A07', 'A03']),
  openTimeoutMs: 120_000, // the first run fetches the pinned hex from the npm registry
  testTimeoutMs: 30_000,
});
