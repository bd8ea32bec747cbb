// What the pages and the JSON API both say, word for word.

export const FORGOT_MESSAGE =
  'If an account uses that email address, we have sent it a link to choose a new password. Check your inbox.';

export const PASSWORD_CHANGED_MEANWHILE =
  'Your password was changed meanwhile (with a reset link or from another session), so yours was not saved. Log in with the current password.';

export const EMAIL_LINK_MESSAGE =
  'If an account uses that email address, we have sent it a sign-in link. Check your inbox: the link works for 10 minutes.';
