// Sign-in page: posts the credentials and moves on to the workbench (the
// team page for an admin who does not take calls).
import { api } from './api.js';
import { byId } from './dom.js';
import { homeOf } from './nav.js';

const form = byId('login-form');
const email = byId('email');
const password = byId('password');
const submit = byId('login-submit');
const error = byId('login-error');

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

async function signIn(event) {
  event.preventDefault();
  error.hidden = true;
  if (!email.value.trim() || !password.value) {
    showError('Enter your email and password.');
    return;
  }

  submit.disabled = true;
  submit.textContent = 'Signing in…';
  try {
    const me = await api('POST', '/api/auth/login',
      { email: email.value.trim(), password: password.value });
    location.assign(homeOf(me));
  } catch (err) {
    showError(err.status === 401 ? 'Invalid email or password.' : err.message);
    password.select();
  } finally {
    submit.disabled = false;
    submit.textContent = 'Sign in';
  }
}

form.addEventListener('submit', signIn);

// Someone already signed in does not need this page.
api('GET', '/api/me').then((me) => location.replace(homeOf(me)), () => {});
