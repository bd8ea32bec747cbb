// Progressive enhancement only: every page works without this file.
// After htmx swaps a form, move focus to its message so screen readers announce the outcome.
// htmx 4 names the event htmx:after:swap and fires it on the new content when the old element was replaced.
document.addEventListener('htmx:after:swap', (event) => {
  const swapped = event.target;
  if (!(swapped instanceof Element)) return;
  const message = swapped.matches('[data-autofocus]') ? swapped : swapped.querySelector('[data-autofocus]');
  if (message) message.focus();
});
