/**
 * The HTTP server (Fastify): the AxeOS-compatible REST API (routes and units in REFERENCE.md), asicd's
 * own state/history/event-stream routes, the OpenAPI document built from the same route schemas, and
 * the dashboard (static files, uPlot served from node_modules: nothing is fetched at run time).
 *
 * Security: every write route needs `Authorization: Bearer <token>` (constant-time compare) unless
 * `openLoopback` was configured explicitly and the peer is on loopback; a write carrying an Origin
 * other than this server's (or a configured CORS origin) is refused, so a web page elsewhere cannot
 * steer the miner through the user's browser. CORS is closed unless origins are configured. Reads are
 * public (AxeOS tools and pyasic read without credentials).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { sanitizePoolUrl } from '../api/sanitize.ts';
import type { MinerEvent, MinerSource, MinerState } from '../api/types.ts';
import type { PersistentSource } from '../state/persistent.ts';
import { VERSION } from '../version.ts';
import {
  asicInfo,
  type DeviceContext,
  PATCH_SCHEMA,
  PatchError,
  type PatchPlan,
  patchPlan,
  statistics,
  systemInfo,
} from './axeos.ts';
import { HashrateHistory } from './history.ts';
import type { LogTap } from './log-tap.ts';

export interface HttpServerOptions {
  source: MinerSource;
  /** Saves settings that cannot be applied live (pools, temperature target); absent = not persisted. */
  persistent?: PersistentSource;
  device: DeviceContext;
  host?: string;
  port?: number;
  /** Token for write routes; without it (and without openLoopback) every write is refused. */
  token?: string;
  /** Writes without a token from loopback peers; only allowed when listening on loopback. */
  openLoopback?: boolean;
  /** Origins allowed by CORS (default none). */
  corsOrigins?: string[];
  logs?: LogTap;
  history?: HashrateHistory;
  clock?: Clock;
  logger?: Logger;
  /** Seconds between state pushes on the event stream (default 2). */
  streamEveryMs?: number;
}

export interface HttpServer {
  app: FastifyInstance;
  host: string;
  port: number;
  url: string;
  history: HashrateHistory;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;
export const isLoopback = (addr: string | undefined) => addr !== undefined && LOOPBACK.test(addr);

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Constant-time token check (hashing first makes the lengths equal, so length leaks nothing). */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected)) && given.length === expected.length;
}

const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const a = new Map<string, Asset>();
  const add = (route: string, file: string, type: string) => a.set(route, { type, body: readFileSync(file) });
  add('/', `${DASHBOARD_DIR}index.html`, 'text/html; charset=utf-8');
  add('/app.js', `${DASHBOARD_DIR}app.js`, 'text/javascript; charset=utf-8');
  add('/app.css', `${DASHBOARD_DIR}app.css`, 'text/css; charset=utf-8');
  add('/vendor/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript');
  add('/vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css');
  return a;
}

const ERROR = { type: 'object', properties: { error: { type: 'string' }, applied: { type: 'object' } } };
const MESSAGE = { type: 'object', properties: { message: { type: 'string' } } };
const WRITE_SCHEMA_RESPONSE = { 400: ERROR, 401: ERROR, 403: ERROR, 409: ERROR };
const PATCH_RESPONSE = {
  ...WRITE_SCHEMA_RESPONSE,
  200: {
    type: 'object',
    properties: {
      applied: { type: 'object', additionalProperties: true },
      saved: { type: 'array', items: { type: 'string' } },
      restartRequired: { type: 'array', items: { type: 'string' } },
      ignored: { type: 'array', items: { type: 'string' } },
    },
  },
};

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const host = o.host ?? '127.0.0.1';
  const clock = o.clock ?? systemClock;
  const log = (o.logger ?? silentLogger).child('http');
  const src = o.source;
  if (o.openLoopback && !isLoopback(host))
    throw new Error(
      `http.openLoopback: only allowed when listening on loopback (listening on ${host}); set http.token instead`,
    );
  const corsOrigins = o.corsOrigins ?? [];
  const startedAt = clock.now();
  const history = o.history ?? new HashrateHistory({ clock });
  const ownHistory = !o.history;
  if (ownHistory) history.start(src);
  const assets = loadAssets();
  const events: Array<Exclude<MinerEvent, { type: 'state_changed' | 'share_accepted' }>> = [];
  const unsubEvents = src.onEvent((e) => {
    if (e.type === 'state_changed' || e.type === 'share_accepted') return;
    events.push(e);
    if (events.length > 100) events.shift();
  });

  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    forceCloseConnections: true,
    // Refuse (not silently drop or coerce) unknown fields and wrong types: a typo must not pass as OK.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, allowUnionTypes: true },
    },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'asicd HTTP API',
        version: VERSION,
        description:
          'AxeOS-compatible routes under /api/system (ESP-Miner names and units), asicd routes under /api/asicd. Write routes need Authorization: Bearer <token>.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  if (corsOrigins.length)
    await app.register(cors, { origin: corsOrigins, methods: ['GET', 'PATCH', 'POST'] });

  const refuse = (reply: FastifyReply, code: 401 | 403, error: string) => {
    if (code === 401) reply.header('www-authenticate', 'Bearer realm="asicd"');
    log.warn('write_refused', { code, error });
    return reply.code(code).send({ error });
  };
  /** preHandler of every write route. */
  const auth = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && !corsOrigins.includes(origin))
      return refuse(reply, 403, `cross-origin write from ${origin.slice(0, 100)} refused`);
    const h = req.headers.authorization;
    const given = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    if (o.token !== undefined && given !== undefined) {
      if (tokenMatches(given, o.token)) return;
      return refuse(reply, 401, 'invalid token');
    }
    if (o.openLoopback && isLoopback(req.ip)) return;
    if (o.token === undefined)
      return refuse(reply, 401, 'writes are disabled: no http.token configured (see asicd run --help)');
    return refuse(reply, 401, 'authentication required: Authorization: Bearer <token>');
  };
  const writeRoute = { preHandler: auth, schema: { security: [{ bearer: [] }] } };

  const state = (): MinerState => src.getState();
  const view = () => {
    const s = state();
    return {
      ...s,
      averages: {
        avg10m: history.average(600_000),
        avg1h: history.average(3_600_000),
        avg24h: history.average(86_400_000),
      },
      settings: {
        targetTempC: o.device.targetTempC,
        maxTempC: o.device.maxTempC,
        stateFile: o.persistent?.stateFile ?? null,
      },
      events,
    };
  };
  const device = () => o.device;

  // ---- AxeOS-compatible reads --------------------------------------------------------------------
  app.get(
    '/api/system/info',
    { schema: { tags: ['axeos'], summary: 'AxeOS system info (ESP-Miner field names and units)' } },
    async () => systemInfo(state(), device(), VERSION),
  );
  app.get(
    '/api/system/asic',
    { schema: { tags: ['axeos'], summary: 'Chip model and settable ranges' } },
    async () => asicInfo(state(), device()),
  );
  app.get(
    '/api/system/statistics',
    {
      schema: {
        tags: ['axeos'],
        summary: 'Sampled history: labels + rows [values…, ms since start]',
        querystring: {
          type: 'object',
          properties: { columns: { type: 'string', maxLength: 200 } },
        },
      },
    },
    async (req) => statistics(history, startedAt, clock.now(), (req.query as { columns?: string }).columns),
  );

  // ---- AxeOS-compatible writes -------------------------------------------------------------------
  app.patch(
    '/api/system',
    {
      ...writeRoute,
      schema: {
        ...writeRoute.schema,
        tags: ['axeos'],
        summary: 'Change settings (validated within the board limits; applied live where possible)',
        body: PATCH_SCHEMA,
        response: PATCH_RESPONSE,
      },
    },
    async (req, reply) => {
      let plan: PatchPlan;
      const s = state();
      const c = src.control;
      try {
        plan = patchPlan(req.body as Record<string, unknown>, s, device());
        if (plan.coreVoltageMv !== undefined) {
          const w = s.limits.voltageMv;
          if (!w || !c.setVoltage)
            throw new PatchError(
              `coreVoltage: this board's core voltage cannot be set (no settable regulator; see asicd boards)`,
            );
          if (!(plan.coreVoltageMv >= w.min && plan.coreVoltageMv <= w.max))
            throw new PatchError(
              `coreVoltage ${plan.coreVoltageMv} mV is outside the board's regulator window ${w.min}..${w.max} mV`,
            );
        }
      } catch (err) {
        if (err instanceof PatchError) return reply.code(400).send({ error: err.message });
        throw err;
      }
      const applied: Record<string, unknown> = {};
      const restartRequired: string[] = [];
      const needsSave = (plan.targetTempC !== undefined && !c.setTargetTemp) || (plan.pools && !c.setPools);
      if (needsSave && !o.persistent)
        return reply.code(409).send({
          error: 'no state file: pool and temperature-target changes cannot be saved (set --state-file)',
          applied,
        });
      try {
        if (plan.frequency !== undefined) applied.frequency = await c.setFrequency(plan.frequency);
        if (plan.coreVoltageMv !== undefined) applied.coreVoltage = await c.setVoltage!(plan.coreVoltageMv);
        if (plan.fan) {
          await c.setFan(plan.fan);
          applied.fan = plan.fan;
        }
        if (plan.targetTempC !== undefined) {
          if (c.setTargetTemp) {
            applied.temptarget = await c.setTargetTemp(plan.targetTempC);
            o.device.targetTempC = plan.targetTempC;
          } else {
            o.persistent!.saveSettings({ 'thermal.targetTemp': plan.targetTempC });
            restartRequired.push('temptarget');
          }
        }
        if (plan.pools) {
          if (c.setPools) {
            await c.setPools(plan.pools);
            applied.pools = plan.pools.map((p) => sanitizePoolUrl(p.url));
          } else {
            o.persistent!.saveSettings({ pools: plan.pools });
            restartRequired.push('stratum');
          }
          o.device.pools = plan.pools;
        }
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message, applied });
      }
      const saved: string[] = [];
      if (o.persistent?.stateFile) saved.push(...Object.keys(o.persistent.settings));
      log.info('settings.patched', { applied, restartRequired, ignored: plan.ignored });
      return { applied, saved, restartRequired, ignored: plan.ignored };
    },
  );
  const action = (path: string, summary: string, fn: () => Promise<unknown>, message: string) =>
    app.post(
      path,
      {
        ...writeRoute,
        schema: {
          ...writeRoute.schema,
          tags: ['axeos'],
          summary,
          response: { ...WRITE_SCHEMA_RESPONSE, 200: MESSAGE },
        },
      },
      async (_req, reply) => {
        try {
          await fn();
        } catch (err) {
          return reply.code(409).send({ error: (err as Error).message });
        }
        log.info('http.action', { path });
        return { message };
      },
    );
  action(
    '/api/system/restart',
    'Restart mining (chains re-initialised)',
    () => src.control.restart(),
    'System will restart shortly.',
  );
  action(
    '/api/system/pause',
    'Pause hashing (fans stay under thermal control)',
    () => src.control.pause(),
    'Mining paused',
  );
  action('/api/system/resume', 'Resume hashing', () => src.control.resume(), 'Mining resumed');
  const identifyListeners = new Set<() => void>();
  action(
    '/api/system/identify',
    'Identify this device (dashboard flashes, log line)',
    async () => {
      log.warn('identify', { message: 'identify requested over HTTP' });
      for (const l of identifyListeners) l();
    },
    'The device says "Hi!" for 30 seconds.',
  );

  // ---- asicd routes ------------------------------------------------------------------------------
  app.get(
    '/api/asicd/state',
    { schema: { tags: ['asicd'], summary: 'Full state, averages, recent events' } },
    async () => view(),
  );
  app.get(
    '/api/asicd/history',
    {
      schema: {
        tags: ['asicd'],
        summary: 'Sampled time series for the last `seconds` (default 3600)',
        querystring: {
          type: 'object',
          properties: { seconds: { type: 'string', pattern: '^[0-9]{1,5}$' } },
        },
      },
    },
    async (req) => {
      const q = (req.query as { seconds?: string }).seconds;
      const seconds = Math.min(86_400, Math.max(1, q === undefined ? 3600 : Number(q)));
      return history.window(seconds * 1000);
    },
  );
  app.get('/api/asicd/logs', { schema: { tags: ['asicd'], summary: 'Recent log lines' } }, async () => ({
    lines: o.logs?.recent() ?? [],
  }));

  const streams = new Set<() => void>();
  app.get(
    '/api/asicd/events',
    { schema: { tags: ['asicd'], summary: 'Server-sent events: state, miner events, log lines, identify' } },
    (req, reply) => {
      if (streams.size >= 32) return reply.code(503).send({ error: 'too many event streams' });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const send = (event: string, data: unknown) => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      send('state', view());
      for (const line of o.logs?.recent(50) ?? []) send('log', line);
      let pending: TimerHandle | undefined;
      const timer = clock.setInterval(() => send('state', view()), o.streamEveryMs ?? 2000);
      const unsubMiner = src.onEvent((e) => {
        if (e.type === 'state_changed') {
          // Coalesce bursts of changes into one push.
          pending ??= clock.setTimeout(() => {
            pending = undefined;
            send('state', view());
          }, 100);
        } else send('miner', e);
      });
      const unsubLog = o.logs?.subscribe((line) => send('log', line));
      const onIdentify = () => send('identify', { time: Date.now() });
      identifyListeners.add(onIdentify);
      const cleanup = () => {
        clock.clearInterval(timer);
        clock.clearTimeout(pending);
        unsubMiner();
        unsubLog?.();
        identifyListeners.delete(onIdentify);
        streams.delete(cleanup);
        res.end();
      };
      streams.add(cleanup);
      req.raw.on('close', cleanup);
    },
  );
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // ---- dashboard ---------------------------------------------------------------------------------
  for (const [route, asset] of assets) {
    app.get(route, { schema: { hide: true } }, async (_req, reply) =>
      reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body),
    );
  }

  app.get('/favicon.ico', { schema: { hide: true } }, async (_req, reply) => reply.code(204).send());

  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (code === 500) log.error('http.error', { error: err.message });
    return reply.code(code).send({ error: err.message });
  });

  await app.listen({ host, port: o.port ?? 80 });
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : (o.port ?? 80);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${port}/`;
  log.info('http_listening', {
    url,
    auth: o.token ? 'token' : o.openLoopback ? 'open on loopback' : 'writes off',
  });
  return {
    app,
    host,
    port,
    url,
    history,
    async close() {
      for (const s of [...streams]) s();
      unsubEvents();
      if (ownHistory) history.stop();
      await app.close();
    },
  };
}
