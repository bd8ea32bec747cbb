// The QR code an authenticator app scans, as inline SVG (attributes only, so it fits the CSP's
// style-src 'self'). The only importer of qrcode.
// Loaded at the first QR code, not at start-up (a start need not pay for it: docs/benchmarks.md).
export async function qrSvg(otpauthUri: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(otpauthUri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
}

/** The key as people type it: groups of four. */
export function groupedKey(base32: string): string {
  return base32.match(/.{1,4}/g)!.join(' ');
}
