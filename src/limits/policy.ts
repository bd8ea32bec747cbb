// Every limit's numbers in one place, each with its reason. docs/limits.md explains them at length.

// Per client IP (as Express sees it with TRUST_PROXY) unless `per: 'account'`, counted in the database by every instance together.
export const RATE_LIMITS = {
  // Guessing passwords. Changing the password checks the current one, so it spends this same budget.
  login: { limit: 10, windowMinutes: 5 },
  register: { limit: 5, windowMinutes: 60 }, // mass sign-ups
  forgot: { limit: 5, windowMinutes: 15 }, // mail bombing someone's inbox
  // Each emailed link's route has its own budget, so spending one (say, on reset links) never closes
  // another. Guessing tokens is hopeless at 256 bits, but cheap to stop.
  reset: { limit: 10, windowMinutes: 15 },
  signupConfirm: { limit: 10, windowMinutes: 15 }, // also guessing the password chosen at sign-up
  emailConfirm: { limit: 10, windowMinutes: 15 },
  secure: { limit: 10, windowMinutes: 15 },
  // The account page's changes (email, delete): guessing the current password, mail bombing.
  account: { limit: 10, windowMinutes: 15 },
  // Per account, not per IP: each picture change decodes an image (CPU) and writes a row, and an
  // account's picture has no reason to change more than a few times an hour.
  picture: { limit: 20, windowMinutes: 60, per: 'account' },
  // Two-step codes from one network (the per-account limits in accounts/second-step.ts are the real guard).
  twoStep: { limit: 20, windowMinutes: 5 },
  // Passkey ceremonies: each options call stores a challenge (assertions cannot be guessed; this stops floods).
  passkey: { limit: 60, windowMinutes: 5 },
  // "Email me a sign-in link": mail bombing someone's inbox, like forgot.
  emailLink: { limit: 5, windowMinutes: 15 },
  // Using sign-in links: guessing tokens (hopeless at 256 bits, but cheap to stop), like reset.
  emailLinkConfirm: { limit: 10, windowMinutes: 15 },
  // Rendering a post's Markdown (a 100,000-character body can take half a second): ample for writing.
  preview: { limit: 30, windowMinutes: 5 },
  // Searching (page and API): each is a full-text query; a person types far fewer.
  search: { limit: 60, windowMinutes: 1 },
} as const;

export type RateLimitName = keyof typeof RATE_LIMITS;

// Per normalised email, from any address: the failure counter belongs to the account (OWASP), not the IP,
// so credential stuffing from a botnet is throttled too. Short, growing blocks instead of a hard lock:
// an attacker cannot keep the owner out for long, and forgot/reset are never blocked.
export const LOGIN_THROTTLE = {
  failures: 10, // consecutive failures before the first block
  firstBlockMinutes: 1, // doubles with every further failure...
  maxBlockMinutes: 15, // ...up to this
  // Failures this old are forgotten: nine typos spread over a month do not add up to a block.
  forgetAfterHours: 24,
} as const;

/** How long the failure with this ordinal (1 = first) blocks further logins, in ms (0 below the threshold). */
export function blockAfterFailure(failures: number): number {
  const { failures: threshold, firstBlockMinutes, maxBlockMinutes } = LOGIN_THROTTLE;
  if (failures < threshold) return 0;
  const minutes = Math.min(maxBlockMinutes, firstBlockMinutes * 2 ** Math.min(failures - threshold, 30));
  return minutes * 60_000;
}
