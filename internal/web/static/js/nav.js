// The sidebar's page links, which depend on who is signed in: admins get the
// console's pages, everyone with an agent profile the workbench, and everyone
// the call log (an agent's own rows).
import { byId, el } from './dom.js';

/** Where a user starts after signing in: the workbench, or the team page for
 * an admin who does not take calls. */
export function homeOf(me) {
  return me.user?.role === 'admin' && !me.agent ? '/admin/team' : '/workbench';
}

/** Fills #nav for the signed-in user, marking the current page. */
export function renderNav(me, current) {
  const links = [];
  if (me.agent) {
    links.push(['workbench', '/workbench', 'Workbench'], ['videos', '/videos', 'My videos']);
  }
  if (me.user?.role === 'admin') {
    links.push(['team', '/admin/team', 'Team'], ['pools', '/admin/pools', 'Pools'],
      ['api-keys', '/admin/api-keys', 'API keys'], ['settings', '/admin/settings', 'Settings']);
  }
  links.push(['calls', '/calls', me.user?.role === 'admin' ? 'Call log' : 'My calls']);

  const nav = byId('nav');
  nav.replaceChildren(...links.map(([page, href, label]) => el('a', {
    href,
    className: 'nav-link',
    textContent: label,
    'data-page': page,
    'aria-current': page === current ? 'page' : undefined,
  })));
}
