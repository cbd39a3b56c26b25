export { FirmataBoard, type FirmataBoardOptions } from './firmata-board.ts';
export { HardwareUnavailableError } from '../errors.ts';
