// The household's state, kept in step with the server by the sync protocol
// (docs/SYNC.md): a snapshot, then the WebSocket feed from its revision. A
// lost connection, or the browser going offline, is resumed from the last
// revision applied, so nothing is missed or applied twice. The list's own
// writes are applied to the local copy at once and queued: sent in order,
// each with its operation id, kept while the network is gone and sent when
// it is back.
import { api, ApiError, restore } from './api.js';

const maxBackoff = 30000;

export class Household {
  constructor(onChange) {
    this.onChange = onChange;
    this.status = 'connecting';
    this.revision = 0;
    this.household = null;
    this.members = new Map();
    this.items = new Map();
    this.plans = new Map();
    this.ws = null;
    this.stopped = false;
    this.backoff = 1000;
    this.timer = 0;
    this.queue = []; // writes not yet answered, in order: {method, path, body, key}
    this.sending = null;
    this.refused = null; // called with the error of a write the server refused
    this.online = () => { this.backoff = 1000; this.connect(); this.flush(); };
    this.offline = () => { this.setStatus('offline'); this.ws?.close(1000, 'offline'); };
    addEventListener('online', this.online);
    addEventListener('offline', this.offline);
  }

  load(snapshot) {
    this.revision = snapshot.revision;
    this.household = snapshot.household;
    this.members = new Map(snapshot.members.map((m) => [m.userId, m]));
    this.items = new Map(snapshot.items.map((i) => [i.id, i]));
    this.plans = new Map((snapshot.mealPlans || []).map((p) => [p.id, p]));
    this.onChange(this);
  }

  apply(changes) {
    // One operation may change several entities under one revision: skip
    // only what is older than what was applied before this message.
    const from = this.revision;
    for (const c of changes) {
      if (c.revision <= from) continue; // already applied
      const maps = { item: this.items, member: this.members, mealPlan: this.plans };
      if (c.entity === 'household') {
        if (c.op === 'upsert') this.household = c.data;
      } else if (maps[c.entity]) {
        if (c.op === 'delete') maps[c.entity].delete(c.id);
        else maps[c.entity].set(c.id, c.data);
      }
      this.revision = c.revision;
    }
    this.onChange(this);
  }

  setStatus(s) {
    this.status = s;
    this.onChange(this);
  }

  async connect() {
    if (this.stopped || this.ws || !navigator.onLine) return;
    clearTimeout(this.timer);
    this.setStatus('connecting');
    let ticket;
    try {
      ({ ticket } = await api('POST', '/sync/ticket'));
    } catch (err) {
      if (err.status === 404) return this.gone();
      return this.retry();
    }
    if (this.stopped || this.ws) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/sync/ws?since=${this.revision}&ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    ws.onopen = () => { this.backoff = 1000; this.setStatus('live'); };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === 'resync') this.load(msg.snapshot);
      else if (msg.type === 'changes') this.apply(msg.changes);
    };
    ws.onclose = async (ev) => {
      if (this.ws === ws) this.ws = null;
      if (this.stopped) return;
      if (ev.code === 4003) return this.gone();
      if (ev.code === 4001 && !(await restore())) return this.setStatus('signed-out');
      if (!navigator.onLine) return this.setStatus('offline');
      if (ev.code === 1012) return this.connect(); // a deploy: another instance answers
      this.retry();
    };
  }

  retry() {
    this.setStatus(navigator.onLine ? 'reconnecting' : 'offline');
    const wait = this.backoff * (0.5 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, maxBackoff);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  gone() {
    this.stop();
    this.setStatus('gone');
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    removeEventListener('online', this.online);
    removeEventListener('offline', this.offline);
    this.ws?.close(1000, 'left the page');
    this.ws = null;
  }

  // write applies a change to the local copy now (local mutates this) and
  // queues it for the server.
  write(method, path, body, local) {
    local?.(this);
    this.queue.push({ method, path, body, key: crypto.randomUUID() });
    this.onChange(this);
    this.flush();
  }

  // flush sends the queue in order. A network failure, a 409 (the same
  // write still running) or a 5xx keeps the write for a later try with the
  // same key; any other refusal drops it (404: the item was deleted
  // meanwhile, and delete beats edit) and the feed restores the truth.
  flush() {
    if (this.sending || this.stopped) return;
    this.sending = (async () => {
      while (this.queue.length && navigator.onLine) {
        const op = this.queue[0];
        try {
          await api(op.method, op.path, op.body, op.key);
        } catch (err) {
          const retry = !(err instanceof ApiError) || err.status === 409 || err.status >= 500;
          if (retry) {
            clearTimeout(this.flushTimer);
            if (navigator.onLine) this.flushTimer = setTimeout(() => this.flush(), 1000);
            return;
          }
          if (err.status !== 404) this.refused?.(err);
        }
        this.queue.shift();
      }
    })().finally(() => {
      this.sending = null;
      this.onChange(this);
    });
  }

  sortedItems() {
    return [...this.items.values()].sort((a, b) => a.position - b.position);
  }
}
