// Copy buttons next to read-only fields (invitation links, new API keys).

const COPIED_MS = 2000;

/**
 * Makes button copy the value of input. Without clipboard access (an
 * insecure origin, or a denied permission) it selects the text instead and
 * asks the user to copy it.
 */
export function wireCopy(button, input) {
  const label = button.textContent;
  let timer = 0;
  button.addEventListener('click', async () => {
    input.select();
    let text = 'Copied';
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      text = 'Selected: copy it now';
    }
    button.textContent = text;
    clearTimeout(timer);
    timer = setTimeout(() => (button.textContent = label), COPIED_MS);
  });
}
