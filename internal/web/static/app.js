// MealSync's web app: a router over the History API and one function per
// view. Views build their DOM with h() (dom.js) from the API's answers.
import { api, ApiError, restore, session, signIn, signOut, signOutEverywhere, setUser } from './api.js';
import { h, field, formData, errorBox } from './dom.js';
import { Household } from './live.js';
import { scaleQuantity } from './scale.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let current = null; // the view's cleanup (the live household), if any

const routes = [
  [/^\/$/, home, 'Home'],
  [/^\/signin$/, signInView, 'Sign in'],
  [/^\/signup$/, signUpView, 'Sign up'],
  [/^\/recipes$/, catalogue, 'Recipes'],
  [/^\/recipes\/([0-9a-f-]{36})$/, recipe, 'Recipe', true],
  [/^\/saved$/, saved, 'Saved recipes', true],
  [/^\/generate$/, generate, 'Cook from what you have', true],
  [/^\/plans$/, plans, 'Meal plans', true],
  [/^\/plans\/([0-9a-f-]{36})$/, plan, 'Meal plan', true],
  [/^\/household$/, household, 'Household', true],
  [/^\/settings$/, settings, 'Settings', true],
];

export function go(url, replace = false) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  render();
}

async function render() {
  current?.();
  current = null;
  const url = new URL(location.href);
  const route = routes.find(([re]) => re.test(url.pathname));
  main.setAttribute('aria-busy', 'true');
  if (!route) return show('notfound', 'Not found', [h('h1', { tabindex: '-1' }, 'Page not found'), h('p', null, h('a', { href: '/' }, 'Go home'))]);
  const [re, view, title, needsUser] = route;
  if (needsUser && !session.user) return go(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`, true);
  try {
    const content = await view(url, ...url.pathname.match(re).slice(1));
    if (url.href !== location.href) return; // navigated on meanwhile
    show(view.name, content.title || title, content.nodes || content);
  } catch (err) {
    if (url.href !== location.href) return;
    if (err instanceof ApiError && err.status === 401) return go('/signin', true);
    show('error', 'Error', [h('h1', { tabindex: '-1' }, title), errorBox(err)]);
  }
}

function show(name, title, nodes) {
  document.title = `${title} · MealSync`;
  main.replaceChildren(...[nodes].flat().filter((n) => n != null));
  main.dataset.view = name;
  main.setAttribute('aria-busy', 'false');
  performance.mark('mealsync:view', { detail: name }); // when each view was ready to use
  // Tell screen readers the page changed: focus its heading.
  const h1 = main.querySelector('h1');
  if (h1 && document.activeElement !== document.body) h1.focus();
  else if (h1 && rendered) h1.focus();
  rendered = true;
}
let rendered = false;

function drawNav(u) {
  const link = (href, text) => h('a', { href, 'aria-current': location.pathname === href ? 'page' : null }, text);
  nav.replaceChildren(h('ul', null, (u
    ? [link('/recipes', 'Recipes'), link('/saved', 'Saved'), link('/plans', 'Plans'), link('/household', 'Household'),
      link('/generate', 'Generate'), link('/settings', 'Settings'),
      h('button', { type: 'button', id: 'signout', class: 'link', onclick: async () => { await signOut(); go('/'); } }, 'Sign out')]
    : [link('/recipes', 'Recipes'), link('/signin', 'Sign in'), link('/signup', 'Sign up')]).map((x) => h('li', null, x))));
}

// toast says something briefly (a status region: screen readers read it
// at once); it goes after a few seconds, or with the view.
let toastTimer = 0;
function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.textContent = ''; }, 5000);
}

// ---- Views ------------------------------------------------------------------

async function home() {
  const u = session.user;
  if (!u) {
    return [h('h1', { tabindex: '-1' }, 'Plan meals together'),
      h('p', { class: 'lead' }, 'Find recipes, plan your week and share a live shopping list with your household.'),
      h('p', null, h('a', { class: 'button', href: '/signup' }, 'Create an account'), ' ', h('a', { href: '/signin' }, 'Sign in'), ' or ',
        h('a', { href: '/recipes' }, 'browse the recipes')),
    ];
  }
  const [picks, recommended, recent] = await Promise.all([
    api('GET', '/recipes/today-picks'), api('GET', '/recipes/recommended?limit=6'), api('GET', '/recipes/recent?limit=6'),
  ]);
  return [h('h1', { tabindex: '-1' }, `Hello, ${u.name}`),
    section('picks', "Today's picks", picks),
    section('recommended', 'Recommended for you', recommended),
    section('recent', 'Recently generated', recent.data, h('p', null, 'Nothing yet. ', h('a', { href: '/generate' }, 'Cook from what you have.'))),
  ];
}

function section(id, title, recipes, empty) {
  return h('section', { 'aria-labelledby': `${id}-h`, id },
    h('h2', { id: `${id}-h` }, title),
    recipes.length ? cards(recipes) : (empty || h('p', null, 'Nothing here yet.')));
}

function cards(recipes) {
  return h('ul', { class: 'cards' }, recipes.map((r) => h('li', { class: 'card' },
    h('a', { href: `/recipes/${r.id}` }, r.name),
    h('p', { class: 'meta' }, `${r.cuisine} · ${r.totalTime} min · ${label(r.difficulty)}`))));
}

const label = (s) => (s ? s[0] + s.slice(1).toLowerCase() : '');

function signInView(url) {
  const next = url.searchParams.get('next');
  const form = h('form', { class: 'stack', novalidate: true },
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { email, password } = formData(form);
    try {
      await signIn(email, password);
      go(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
    } catch (err) {
      form.querySelector('.error')?.remove();
      form.prepend(errorBox(err));
    }
  });
  return [h('h1', { tabindex: '-1' }, 'Sign in'), form, h('p', null, 'New here? ', h('a', { href: '/signup' }, 'Create an account'))];
}

function signUpView() {
  const form = h('form', { class: 'stack', novalidate: true },
    field('Name', { name: 'name', autocomplete: 'name', required: true }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true },
      '10 to 128 characters, with a letter and a digit.'),
    h('button', { type: 'submit' }, 'Create account'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = formData(form);
    try {
      await api('POST', '/users/register', body);
      await signIn(body.email, body.password);
      go('/settings?welcome=1');
    } catch (err) {
      form.querySelector('.error')?.remove();
      form.prepend(errorBox(err));
    }
  });
  return [h('h1', { tabindex: '-1' }, 'Create your account'), form];
}

// The catalogue's filters are the API's, kept in the page's URL: a search
// can be shared, bookmarked and reloaded.
const filters = ['name', 'cuisines', 'ingredients', 'difficulty', 'maxTotalTime'];

async function catalogue(url) {
  const q = new URLSearchParams();
  for (const f of [...filters, 'offset']) if (url.searchParams.get(f)) q.set(f, url.searchParams.get(f));
  q.set('limit', '12');
  const page = await api('GET', `/recipes?${q}`);
  const v = (f) => url.searchParams.get(f) || '';
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Recipes' },
    field('Name', { name: 'name', type: 'search', value: v('name') }),
    field('Cuisine', { name: 'cuisines', value: v('cuisines') }),
    field('Ingredient', { name: 'ingredients', value: v('ingredients') }),
    field('Difficulty', { tag: 'select', name: 'difficulty', options: ['', 'EASY', 'MEDIUM', 'HARD'].map((d) =>
      h('option', { value: d, selected: d === v('difficulty') }, d ? label(d) : 'Any')) }),
    field('Max. minutes', { name: 'maxTotalTime', type: 'number', min: '0', inputmode: 'numeric', value: v('maxTotalTime') }),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, val] of new FormData(form)) if (val) next.set(k, val);
    go(`/recipes${next.size ? `?${next}` : ''}`);
  });
  const offset = page.offset;
  const pageLink = (o, text) => {
    const p = new URLSearchParams(url.search);
    p.set('offset', String(o));
    return h('a', { href: `/recipes?${p}` }, text);
  };
  return [h('h1', { tabindex: '-1' }, 'Recipes'), form,
    h('p', { id: 'count', role: 'status' }, `${page.totalElements} recipe${page.totalElements === 1 ? '' : 's'}`),
    cards(page.data),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      offset > 0 ? pageLink(Math.max(0, offset - page.limit), 'Previous') : null,
      page.hasNext ? pageLink(offset + page.limit, 'Next') : null)];
}

async function recipe(url, id) {
  const [r, savedPage] = await Promise.all([api('GET', `/recipes/${id}`), api('GET', '/saved?limit=100')]);
  let isSaved = savedPage.data.some((s) => s.id === id);
  const servings = Math.max(1, Number(url.searchParams.get('servings')) || r.servings);
  const list = h('ul', { id: 'ingredients' });
  const drawIngredients = (n) => list.replaceChildren(...r.ingredients.map((i) =>
    h('li', null, h('span', { class: 'qty' }, [scaleQuantity(i.quantity, n / r.servings), i.unit].filter(Boolean).join(' ')), ' ', i.name)));
  drawIngredients(servings);
  const input = h('input', { id: 'servings', type: 'number', min: '1', max: '100', value: String(servings), inputmode: 'numeric' });
  input.addEventListener('input', () => {
    const n = Math.min(100, Math.max(1, Math.round(Number(input.value)) || 1));
    drawIngredients(n);
    history.replaceState(null, '', n === r.servings ? location.pathname : `${location.pathname}?servings=${n}`);
  });
  const save = h('button', { type: 'button', id: 'save', 'aria-pressed': String(isSaved) }, isSaved ? 'Saved' : 'Save');
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      const body = { userId: session.user.id, recipeId: id };
      await api(isSaved ? 'DELETE' : 'POST', '/recipes/save', body);
      isSaved = !isSaved;
      save.textContent = isSaved ? 'Saved' : 'Save';
      save.setAttribute('aria-pressed', String(isSaved));
      toast(isSaved ? `Saved ${r.name}` : `Removed ${r.name} from saved`);
    } finally {
      save.disabled = false;
    }
  });
  return { title: r.name, nodes: [
    h('article', { class: 'recipe' },
      h('h1', { tabindex: '-1' }, r.name),
      r.imageUrl ? h('img', { src: r.imageUrl, alt: r.name, width: '640', height: '400' }) : null,
      h('p', { class: 'lead' }, r.description),
      h('p', { class: 'meta' }, `${r.cuisine} · ${label(r.difficulty)} · ${r.preparationTime} min prep, ${r.cookingTime} min cooking · ${Math.round(r.calories)} kcal a serving`),
      save,
      h('section', { 'aria-labelledby': 'ing-h' }, h('h2', { id: 'ing-h' }, 'Ingredients'),
        h('div', { class: 'field inline' }, h('label', { for: 'servings' }, 'Servings'), input), list),
      h('section', { 'aria-labelledby': 'steps-h' }, h('h2', { id: 'steps-h' }, 'Steps'),
        h('ol', { id: 'steps' }, r.instructions.map((s) => h('li', null, s))))),
  ] };
}

async function saved() {
  const page = await api('GET', '/saved?limit=100');
  return [h('h1', { tabindex: '-1' }, 'Saved recipes'),
    page.data.length ? cards(page.data) : h('p', null, 'Nothing saved yet. ', h('a', { href: '/recipes' }, 'Browse the recipes.'))];
}

function generate() {
  const out = h('div', { id: 'generated', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', id: 'from-ingredients' },
    field('Ingredients you have', { tag: 'textarea', name: 'ingredients', rows: '3', required: true }, 'Separate them with commas.'),
    h('button', { type: 'submit' }, 'Find recipes'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ingredients = formData(form).ingredients.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);
    out.replaceChildren(h('p', null, 'Looking…'));
    try {
      const recipes = await api('POST', '/recipes/generate-recipes', { ingredients });
      out.replaceChildren(recipes.length ? cards(recipes) : h('p', null, 'No recipe matches those ingredients.'));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  });
  return [h('h1', { tabindex: '-1' }, 'Cook from what you have'), photoForm(form, out), form, out];
}

// photoForm reads the ingredients in a photo into the ingredients form,
// when the server's provider reads photos (the session says); otherwise it
// says why there is no photo option.
function photoForm(ingredientsForm, out) {
  if (!session.features.photoIngredients) {
    return h('p', { id: 'photo-unavailable', class: 'meta' },
      'Reading ingredients from a photo needs an AI provider, which this server does not use: type them instead.');
  }
  const form = h('form', { class: 'stack', id: 'from-photo' },
    field('A photo of your ingredients', { name: 'image', type: 'file', accept: 'image/jpeg,image/png,image/webp', required: true },
      'JPEG, PNG or WebP, up to 10 MB. The ingredients found fill the list below.'),
    h('button', { type: 'submit' }, 'Read the photo'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    if (!file) return;
    const body = new FormData();
    body.append('image', file);
    out.replaceChildren(h('p', null, 'Reading the photo…'));
    try {
      const found = await api('POST', '/recipes/detect-ingredients', body);
      ingredientsForm.querySelector('textarea').value = found.map((i) => i.name).join(', ');
      out.replaceChildren(h('p', null, found.length ? `Found ${found.length} ingredient${found.length === 1 ? '' : 's'}: check the list, then find recipes.`
        : 'No ingredient found in the photo.'));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  });
  return h('section', { 'aria-labelledby': 'photo-h' }, h('h2', { id: 'photo-h' }, 'From a photo'), form);
}

function nextMonday() {
  const d = new Date();
  d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7));
  return d.toISOString().slice(0, 10);
}

async function plans() {
  const mine = await api('GET', '/meal-plans?limit=50');
  let hh = null;
  try { hh = await api('GET', '/households/mine'); } catch (err) { if (err.status !== 404) throw err; }
  const form = h('form', { class: 'stack', id: 'new-plan' },
    field('First day', { name: 'startDate', type: 'date', value: nextMonday(), required: true }),
    field('Days', { name: 'numberOfDays', type: 'number', min: '1', max: '28', value: '7', required: true }),
    field('Meals a day', { tag: 'select', name: 'mealsPerDay', options: [['1', 'Dinner'], ['2', 'Lunch and dinner'], ['3', 'Breakfast, lunch and dinner']].map(([v, t]) => h('option', { value: v }, t)) }),
    hh ? h('div', { class: 'field inline' }, h('input', { type: 'checkbox', id: 'for-household', name: 'household', value: 'yes' }),
      h('label', { for: 'for-household' }, `For ${hh.household.name}`)) : null,
    h('button', { type: 'submit' }, 'Plan it'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = formData(form);
    try {
      const p = await api('POST', '/meal-plans', { startDate: f.startDate, numberOfDays: Number(f.numberOfDays), mealsPerDay: Number(f.mealsPerDay),
        householdId: f.household ? hh.household.id : undefined });
      go(`/plans/${p.id}`);
    } catch (err) {
      form.querySelector('.error')?.remove();
      form.prepend(errorBox(err));
    }
  });
  const list = (ps) => h('ul', { class: 'plans' }, ps.map((p) => h('li', null, h('a', { href: `/plans/${p.id}` },
    `${p.numberOfDays} days from ${p.startDate}`))));
  return [h('h1', { tabindex: '-1' }, 'Meal plans'),
    h('section', { 'aria-labelledby': 'new-h' }, h('h2', { id: 'new-h' }, 'Plan a week'), form),
    h('section', { 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h' }, 'Your plans'),
      mine.data.length ? list(mine.data) : h('p', null, 'No plans yet.')),
    hh && hh.mealPlans.length ? h('section', { 'aria-labelledby': 'hh-h' }, h('h2', { id: 'hh-h' }, `${hh.household.name}'s plans`), list(hh.mealPlans)) : null];
}

const mealNames = { BREAKFAST: 'Breakfast', LUNCH: 'Lunch', DINNER: 'Dinner' };

async function plan(url, id) {
  let [p, shopping] = await Promise.all([api('GET', `/meal-plans/${id}`), api('GET', `/meal-plans/${id}/shopping-list`)]);
  let hh = null;
  try { hh = await api('GET', '/households/mine'); } catch (err) { if (err.status !== 404) throw err; }
  const toList = hh ? h('button', { type: 'button', id: 'to-household' }, `Add to ${hh.household.name}'s list`) : null;
  toList?.addEventListener('click', async () => {
    await api('POST', `/households/${hh.household.id}/shopping-list/from-meal-plan`, { mealPlanId: id });
    toast('Added to the household list');
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete plan');
  del.addEventListener('click', async () => { await api('DELETE', `/meal-plans/${id}`); go('/plans'); });
  const days = h('ol', { class: 'days', id: 'days' });
  const shop = h('ul', { id: 'plan-shopping' });
  const status = h('p', { id: 'plan-status', role: 'status' });
  const dayName = (date) => new Date(`${date}T12:00:00Z`).toLocaleDateString(undefined, { weekday: 'long', month: 'short', day: 'numeric' });
  const draw = () => {
    days.replaceChildren(...p.days.map((d) => h('li', null, h('h2', null, dayName(d.date)),
      h('ul', null, d.meals.map((m) => mealRow(d, m))))));
    shop.replaceChildren(...shopping.items.map((i) => h('li', null, [i.quantity, i.unit, i.name].filter(Boolean).join(' '))));
  };
  let swapping = 0; // swaps sent and not yet answered
  let follow = () => {}; // a household's plan: catch up with its feed
  const reload = async () => {
    [p, shopping] = await Promise.all([api('GET', `/meal-plans/${id}`), api('GET', `/meal-plans/${id}/shopping-list`)]);
    draw();
  };
  // A swap asks the server for another recipe everyone the plan feeds may
  // eat (only the server knows every member's diet); the shopping list is
  // the new plan's.
  function mealRow(d, m) {
    const meal = `${mealNames[m.type] || m.type} on ${dayName(d.date)}`;
    const swap = h('button', { type: 'button', class: 'link swap', 'aria-label': `Swap ${meal}` }, 'Swap');
    swap.addEventListener('click', async () => {
      swap.disabled = true;
      swapping++;
      try {
        p = await api('POST', `/meal-plans/${id}/meals/${d.date}/${m.type}/swap`, {});
        shopping = await api('GET', `/meal-plans/${id}/shopping-list`);
        draw();
        const now = p.days.find((x) => x.date === d.date)?.meals.find((x) => x.type === m.type);
        status.textContent = `${meal}: now ${now?.recipe?.name ?? 'nothing suitable'}.`;
        days.querySelector(`li[data-date="${d.date}"][data-type="${m.type}"] .swap`)?.focus();
      } catch (err) {
        swap.disabled = false;
        toast(err.message);
      } finally {
        swapping--;
        follow();
      }
    });
    return h('li', { dataset: { date: d.date, type: m.type } }, `${mealNames[m.type] || m.type}: `,
      m.recipe ? h('a', { href: `/recipes/${m.recipe.id}` }, m.recipe.name) : 'nothing suitable', ' ', swap);
  }
  draw();
  // A household's plan follows the household's feed: another member's
  // swap shows here as it happens.
  if (p.householdId && hh?.household.id === p.householdId) {
    const shown = (ds, key) => ds.map((d) => d.meals.map(key).join()).join('|');
    let syncing = false;
    const live = new Household((s) => {
      status.dataset.state = s.status;
      follow();
    });
    // follow reloads the plan when the feed brings a version of it that
    // differs from the one shown, unless a swap of this page's is under
    // way (its answer is newer). Until the feed brings this page's own
    // swap, the feed's version is older than the page's: not news.
    let seen = null; // the feed's version last looked at
    follow = () => {
      const fp = live.plans.get(id);
      if (!fp) {
        if (live.revision > hh.revision) status.textContent = 'This plan was deleted.';
        return;
      }
      const feed = shown(fp.days, (m) => m.recipeId ?? '');
      if (syncing || swapping || feed === seen) return;
      seen = feed;
      if (feed === shown(p.days, (m) => m.recipe?.id ?? '')) return;
      syncing = true;
      reload().then(() => { status.textContent = 'The plan was changed by someone in your household.'; }, () => {})
        .finally(() => { syncing = false; follow(); });
    };
    live.load(hh);
    live.connect();
    current = () => live.stop();
  }
  return { title: `Plan from ${p.startDate}`, nodes: [
    h('h1', { tabindex: '-1' }, `${p.numberOfDays} days from ${p.startDate}`), status, days,
    h('section', { 'aria-labelledby': 'shop-h' }, h('h2', { id: 'shop-h' }, 'Shopping list'), shop, toList),
    h('p', null, del)] };
}

async function household() {
  let snap = null;
  try { snap = await api('GET', '/households/mine'); } catch (err) { if (err.status !== 404) throw err; }
  if (!snap) return noHousehold();
  const status = h('p', { id: 'live-status', role: 'status' });
  const list = h('ul', { id: 'shopping', class: 'shopping' });
  const members = h('ul', { id: 'members' });
  const title = h('h1', { tabindex: '-1' });
  const hh = new Household((s) => {
    title.textContent = s.household.name;
    status.dataset.state = s.status;
    status.textContent = { live: 'Live: changes show as they happen.', connecting: 'Connecting…', reconnecting: 'Reconnecting…',
      offline: 'Offline: your changes are kept and sent when you are back online.', gone: 'You are no longer in this household.', 'signed-out': 'Signed out.' }[s.status];
    status.dataset.pending = String(s.queue.length);
    if (s.queue.length) status.append(` ${s.queue.length} change${s.queue.length === 1 ? '' : 's'} waiting to be sent.`);
    members.replaceChildren(...[...s.members.values()].map((m) => h('li', null, `${m.name}${m.role === 'OWNER' ? ' (owner)' : ''}`)));
    list.replaceChildren(...s.sortedItems().map((i) => itemRow(s, i)));
  });
  hh.refused = (err) => toast(err.message);
  hh.load(snap);
  hh.connect();
  current = () => hh.stop();
  const base = `/households/${snap.household.id}/shopping-list`;
  const add = h('form', { class: 'add-item', id: 'add-item' },
    field('Item', { name: 'name', required: true, maxlength: '100' }),
    field('Quantity', { name: 'quantity', maxlength: '50' }),
    h('button', { type: 'submit' }, 'Add'));
  add.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = formData(add);
    const name = f.name.trim();
    if (!name) return;
    const item = { id: crypto.randomUUID(), name, quantity: f.quantity.trim() };
    hh.write('POST', `${base}/items`, item, (s) => {
      const last = Math.max(0, ...[...s.items.values()].map((i) => i.position));
      s.items.set(item.id, { ...item, unit: '', checked: false, position: last + 1 });
    });
    add.reset();
    add.querySelector('input').focus();
  });
  function itemRow(s, i) {
    const id = `item-${i.id}`;
    const box = h('input', { type: 'checkbox', id, checked: i.checked });
    box.addEventListener('change', () => {
      const checked = box.checked;
      s.write('POST', `${base}/items/${i.id}/${checked ? 'check' : 'uncheck'}`, undefined, () => { i.checked = checked; });
    });
    const del = h('button', { type: 'button', class: 'link', 'aria-label': `Delete ${i.name}` }, 'Delete');
    del.addEventListener('click', () => s.write('DELETE', `${base}/items/${i.id}`, undefined, () => s.items.delete(i.id)));
    return h('li', { dataset: { name: i.name, checked: String(i.checked) } }, box,
      h('label', { for: id }, [i.quantity, i.unit, i.name].filter(Boolean).join(' ')), del);
  }
  const invite = h('button', { type: 'button', id: 'invite' }, 'Invite someone');
  const code = h('p', { id: 'invite-code', 'aria-live': 'polite' });
  invite.addEventListener('click', async () => {
    const inv = await api('POST', `/households/${snap.household.id}/invites`);
    code.replaceChildren('Invite code: ', h('strong', { class: 'code' }, inv.code), ' (valid 48 hours, once)');
  });
  const leave = h('button', { type: 'button', class: 'danger' }, 'Leave household');
  leave.addEventListener('click', async () => {
    try {
      await api('POST', `/households/${snap.household.id}/leave`);
      go('/household');
    } catch (err) { toast(err.message); }
  });
  return [title, status,
    h('section', { 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h' }, 'Shopping list'), add, list),
    h('section', { 'aria-labelledby': 'mem-h' }, h('h2', { id: 'mem-h' }, 'Members'), members, invite, code),
    h('p', null, leave)];
}

function noHousehold() {
  const create = h('form', { class: 'stack', id: 'create-household' },
    field('Household name', { name: 'name', required: true, maxlength: '100' }), h('button', { type: 'submit' }, 'Create household'));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/households', { name: formData(create).name });
      go('/household', true);
    } catch (err) { create.querySelector('.error')?.remove(); create.prepend(errorBox(err)); }
  });
  const join = h('form', { class: 'stack', id: 'join-household' },
    field('Invite code', { name: 'code', required: true, autocomplete: 'off' }), h('button', { type: 'submit' }, 'Join'));
  join.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/households/join', { code: formData(join).code.trim() });
      go('/household', true);
    } catch (err) { join.querySelector('.error')?.remove(); join.prepend(errorBox(err)); }
  });
  return [h('h1', { tabindex: '-1' }, 'Household'),
    h('p', null, 'Share meal plans and a live shopping list with the people you live with.'),
    h('section', { 'aria-labelledby': 'c-h' }, h('h2', { id: 'c-h' }, 'Start one'), create),
    h('section', { 'aria-labelledby': 'j-h' }, h('h2', { id: 'j-h' }, 'Join one'), join)];
}

async function settings(url) {
  const u = await api('GET', `/users/${session.user.id}`);
  const p = u.userPreference || {};
  const form = h('form', { class: 'stack', id: 'preferences' },
    field('Dietary restrictions', { name: 'dietaryRestrictions', value: (p.dietaryRestrictions || []).join(', ') }, 'For example: vegetarian, gluten-free.'),
    field('Favourite cuisines', { name: 'favoriteCuisines', value: (p.favoriteCuisines || []).join(', ') }),
    field('Ingredients you avoid', { name: 'dislikedIngredients', value: (p.dislikedIngredients || []).join(', ') }),
    h('button', { type: 'submit' }, 'Save preferences'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      setUser(await api('PUT', `/users/${u.id}/preference`, formData(form)));
      toast('Preferences saved');
    } catch (err) { form.querySelector('.error')?.remove(); form.prepend(errorBox(err)); }
  });
  const everywhere = h('button', { type: 'button', id: 'signout-everywhere', class: 'danger' }, 'Sign out everywhere');
  everywhere.addEventListener('click', async () => { await signOutEverywhere(); go('/'); });
  return [h('h1', { tabindex: '-1' }, url.searchParams.get('welcome') ? `Welcome, ${u.name}` : 'Settings'),
    h('section', { 'aria-labelledby': 'pref-h' }, h('h2', { id: 'pref-h' }, 'Preferences'), form),
    h('section', { 'aria-labelledby': 'acc-h' }, h('h2', { id: 'acc-h' }, 'Account'), h('p', null, `Signed in as ${u.email}.`), everywhere)];
}

// ---- Start ------------------------------------------------------------------

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.origin !== location.origin || a.pathname.startsWith('/api/') || a.pathname.startsWith('/images/') || a.hash) return;
  e.preventDefault();
  go(a.pathname + a.search);
});
addEventListener('popstate', render);
session.watch(drawNav);
await restore();
render();
