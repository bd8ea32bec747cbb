// Progressive enhancement only: every page works without this file.
// After htmx swaps a form, move focus to its message so screen readers announce the outcome.
document.addEventListener('htmx:after:swap', () => {
  const message = document.querySelector('[data-autofocus]');
  if (message) message.focus();
});
