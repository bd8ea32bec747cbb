// Progressive enhancement only: every page works without this file.
// After htmx swaps a form, move focus to its message so screen readers announce the outcome.
// htmx 4 names the event htmx:after:swap and fires it on the new content when the old element was replaced.
document.addEventListener('htmx:after:swap', (event) => {
  const swapped = event.target;
  if (!(swapped instanceof Element)) return;
  const message = swapped.matches('[data-autofocus]') ? swapped : swapped.querySelector('[data-autofocus]');
  if (message) message.focus();
});

// Recovery codes: "Copy" and "Print" need script, so they appear only when this file runs.
function enableCodeButtons(root) {
  for (const button of root.querySelectorAll('[data-copy], [data-print]')) button.hidden = false;
  for (const hint of root.querySelectorAll('[data-no-script]')) hint.hidden = true;
}
enableCodeButtons(document);
document.addEventListener('htmx:after:swap', (event) => {
  if (event.target instanceof Element) enableCodeButtons(event.target);
});
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy], [data-print]') : null;
  if (!button) return;
  if (button.hasAttribute('data-print')) return window.print();
  const source = document.querySelector(button.getAttribute('data-copy'));
  if (!source) return;
  const text = [...source.querySelectorAll('li')].map((li) => li.textContent.trim()).join('\n');
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Select the codes to copy them';
  }
});
