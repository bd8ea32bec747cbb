// What several routes' entries share in /api/openapi.json: the error body, the user, the second step.
import { z } from 'zod';
import type { Answer } from './openapi.ts';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, machine-readable: invalid_input, invalid_credentials, rate_limited, login_throttled, unavailable, …' }),
    message: z.string().meta({ description: 'A sentence for a person.' }),
    fields: z.record(z.string(), z.string()).optional().meta({ description: 'One message per field that needs attention.' }),
  }),
});
export const MessageBody = z.object({ message: z.string() });
export const UserBody = z.object({
  user: z.object({
    id: z.number(), username: z.string(), email: z.string().meta({ format: 'email' }), created_at: z.string().meta({ format: 'date-time' }),
    picture_url: z.string().nullable().meta({ description: 'The profile picture (a 300×300 WebP), a path on this site; null when there is none.' }),
  }),
});

export const SecondStepBody = z.object({
  second_step: z.object({
    methods: z.array(z.enum(['totp', 'recovery_code', 'passkey'])).meta({ description: 'What POST /api/auth/second-step (or a passkey) accepts.' }),
  }),
});

export const error = (description: string): Answer => ({ description, body: ErrorBody });

export const dateTime = () => z.string().meta({ format: 'date-time' });
export const INVALID_INPUT = error('Some fields need attention (`fields` says which).');
export const NOT_LOGGED_IN = error('No session: log in first.');
export const RATE_LIMITED = error('Too many attempts from this address; `Retry-After` says when to try again.');
