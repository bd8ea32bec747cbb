// The links that emails carry, built from APP_BASE_URL only: Host and X-Forwarded-Host never reach one.
import type { EmailLinks } from '../../accounts/notifier.ts';

export function createEmailLinks(appBaseUrl: URL): EmailLinks {
  const withToken = (path: string) => (token: string) => {
    const url = new URL(path, appBaseUrl);
    url.searchParams.set('token', token);
    return url.href;
  };
  const page = (path: string) => new URL(path, appBaseUrl).href;
  return {
    resetPassword: withToken('/reset-password'),
    confirmEmail: withToken('/account/email/confirm'),
    confirmSignup: withToken('/register/confirm'),
    secure: withToken('/account/secure'),
    removeTwoStep: withToken('/login/two-step/remove'),
    signIn: (token, next) => {
      const url = new URL(withToken('/login/email/confirm')(token));
      if (next) url.searchParams.set('next', next);
      return url.href;
    },
    logIn: page('/login'),
    forgotPassword: page('/forgot-password'),
  };
}
