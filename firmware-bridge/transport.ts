/**
 * Where a device is: a TCP port (StandardFirmataWiFi, an RS-485-to-Ethernet converter, a serial server) or a
 * local serial port. The controller's config schema produces exactly this shape; the bridge owns it because the
 * bridge is the only code that opens one.
 */
export type TransportConfig =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'serial'; readonly path: string; readonly baudRate: number };
