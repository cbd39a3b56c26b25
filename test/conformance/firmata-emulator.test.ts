import { defineBoardConformance } from './board-suite.ts';
import { openFirmataRig } from './firmata-rig.ts';

// FirmataBoard × our Firmata emulator (StandardFirmataWiFi 2.5 on a Mega) over TCP. A01 (D2), A07 (D8) and C08
// (D25) sit on three different Firmata ports.

defineBoardConformance({
  name: 'FirmataBoard × the Firmata emulator',
  open: () => openFirmataRig('emulated', ['A01', 'A07', 'C08']),
});
