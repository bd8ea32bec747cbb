// Who is at the other end, in words a person recognises and no more precise than that:
// a truncated address (IPv4 /24, IPv6 /48) and "Firefox on Linux". The only importer of bowser.
import { isIPv4, isIPv6 } from 'node:net';
import Bowser from 'bowser';

/** What the account system keeps of a client; built by the web layer from the request. */
export type Client = { ip: string | null; userAgent: string | null };

// Long enough for any real browser; anything longer is noise or an attack on our storage.
const USER_AGENT_MAX = 512;

export function clientOf(address: string | undefined, userAgent: string | undefined): Client {
  return { ip: truncateAddress(address), userAgent: userAgent ? userAgent.slice(0, USER_AGENT_MAX) : null };
}

/** "203.0.113.x" for IPv4 (/24), "2001:db8:85a3::/48" for IPv6; null when it is not an address. */
export function truncateAddress(address: string | undefined): string | null {
  if (!address) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1] : address;
  if (isIPv4(ip)) return `${ip.split('.').slice(0, 3).join('.')}.x`;
  if (isIPv6(ip)) return `${expandIPv6(ip).slice(0, 3).join(':')}::/48`;
  return null;
}

function expandIPv6(ip: string): string[] {
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  return [...left, ...Array(Math.max(0, missing)).fill('0'), ...right].map((group) => group.replace(/^0+(?=.)/, '').toLowerCase());
}

// The only names a device is ever described by. bowser's fallback takes a User-Agent's leading text
// as the browser's name, so anyone could write a sentence ("Inkwell security: call …") into a victim's
// activity and new-sign-in email; a name outside these lists is not shown (issue 30, finding 7).
const KNOWN_BROWSERS = new Set([
  'Chrome', 'Chromium', 'Firefox', 'Safari', 'Microsoft Edge', 'Opera', 'Brave', 'Vivaldi', 'Samsung Internet for Android',
  'Yandex Browser', 'DuckDuckGo', 'UC Browser', 'Android Browser', 'Internet Explorer', 'LibreWolf', 'Epiphany', 'Focus',
  'Opera Coast', 'NAVER Whale Browser', 'QQ Browser', 'Electron',
]);
const KNOWN_SYSTEMS = new Set(['Android', 'iOS', 'macOS', 'Windows', 'Linux', 'Chrome OS', 'HarmonyOS', 'Windows Phone']);

/** "Firefox on Linux", "Safari on iOS", "Windows" or "Unknown device": names from the lists above only. */
export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const parsed = Bowser.parse(userAgent);
  const browser = known(KNOWN_BROWSERS, parsed.browser.name);
  const os = known(KNOWN_SYSTEMS, parsed.os.name);
  if (browser && os) return `${browser} on ${os}`;
  return browser || os || 'Unknown device';
}

/**
 * A stored description as it may be shown: rows written before the lists existed may hold a forged
 * name, so anything that is not a description describeDevice could give reads "Unknown device".
 */
export function shownDevice(stored: string | null): string | null {
  if (stored === null) return null;
  const [browser, os, ...rest] = stored.split(' on ');
  const fits = rest.length === 0 && (os === undefined
    ? KNOWN_BROWSERS.has(browser) || KNOWN_SYSTEMS.has(browser)
    : KNOWN_BROWSERS.has(browser) && KNOWN_SYSTEMS.has(os));
  return fits ? stored : 'Unknown device';
}

function known(names: Set<string>, name: string | undefined): string | null {
  return name !== undefined && names.has(name) ? name : null;
}
