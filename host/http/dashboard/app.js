// asicd dashboard: no framework, no build step, nothing fetched from outside this server.
// State arrives over server-sent events (/api/asicd/events); the chart reads /api/asicd/history.
(() => {
  const $ = (id) => document.getElementById(id);
  const fmt = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
  const si = (x) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
    const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
    let i = 0;
    let v = x;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${v.toFixed(v >= 100 || i === 0 ? 0 : 2)}${units[i]}`;
  };
  const text = (id, v) => {
    const el = $(id);
    if (el && el.textContent !== String(v)) el.textContent = String(v);
  };
  const dur = (s) => {
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${Math.floor(s % 60)}s`;
  };
  const token = $('token');
  // `#token=…` in the address (the demo prints such a link) is stored and removed from the address bar.
  const fromHash = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    localStorage.setItem('asicd-token', decodeURIComponent(fromHash[1]));
    history.replaceState(null, '', location.pathname);
  }
  token.value = localStorage.getItem('asicd-token') || '';
  token.addEventListener('change', () => localStorage.setItem('asicd-token', token.value));

  // ---- chart -------------------------------------------------------------------------------------
  let windowS = 3600;
  let plot;
  const chartEl = $('chart');
  const makePlot = (data) => {
    const opts = {
      width: Math.max(300, chartEl.clientWidth),
      height: 220,
      series: [
        {},
        { label: 'GH/s', stroke: '#f7931a', width: 1.5, fill: 'rgba(247,147,26,0.1)' },
        { label: '°C', stroke: '#58a6ff', scale: 'C' },
      ],
      axes: [
        { stroke: '#8b95a3' },
        { stroke: '#8b95a3' },
        { side: 1, scale: 'C', stroke: '#58a6ff', grid: { show: false } },
      ],
    };
    plot = new uPlot(opts, data, chartEl);
  };
  const loadHistory = async () => {
    const r = await fetch(`/api/asicd/history?seconds=${windowS}`);
    if (!r.ok) return;
    const h = await r.json();
    const data = [h.time.map((t) => t / 1000), h.series.hashrate, h.series.temp];
    if (!plot) makePlot(data);
    else plot.setData(data);
    text('chart-points', `${h.time.length} samples`);
    chartEl.dataset.points = String(h.time.length);
  };
  for (const b of document.querySelectorAll('[data-window]')) {
    b.addEventListener('click', () => {
      windowS = Number(b.dataset.window);
      for (const o of document.querySelectorAll('[data-window]')) o.classList.toggle('on', o === b);
      void loadHistory();
    });
  }
  window.addEventListener('resize', () =>
    plot?.setSize({ width: Math.max(300, chartEl.clientWidth), height: 220 }),
  );

  // ---- state -------------------------------------------------------------------------------------
  let ranges;
  const render = (s) => {
    document.body.dataset.updated = String(s.time);
    text('name', s.device.name);
    text('board', `${s.board.model} · ${s.device.id}`);
    const m = $('mining');
    m.textContent = s.mining;
    m.className = `badge ${s.mining}`;
    text('uptime', dur(s.device.uptimeS));
    text('version', s.device.version);
    text('hr-now', fmt(s.hashrate.now));
    text('hr-10m', fmt(s.averages?.avg10m));
    text('hr-1h', fmt(s.averages?.avg1h));
    text('hr-24h', fmt(s.averages?.avg24h));
    text('hr-expected', fmt(s.hashrate.expected));
    text('shares-accepted', s.shares.accepted);
    text('shares-rejected', s.shares.rejected);
    text('hw-errors', s.shares.hardwareErrors);
    text('best-session', si(s.bestDifficulty.session));
    text('best-alltime', si(s.bestDifficulty.allTime));
    text('blocks', s.lifetime ? s.lifetime.blocksFound : s.shares.blocksFound);
    text('lifetime-accepted', s.lifetime ? s.lifetime.accepted : '–');
    $('reject-reasons').replaceChildren(
      ...Object.entries(s.shares.rejectedByReason).map(([k, v]) => {
        const li = document.createElement('li');
        li.textContent = `${k}: ${v}`;
        return li;
      }),
    );
    text('fan-duty', s.fan.dutyPercent);
    text('fan-mode', s.fan.mode);
    text('fan-rpm', s.fan.rpm.filter((r) => r !== null).join(' / ') || '–');
    text('frequency', fmt(s.frequencyMhz, 0));
    if (typeof s.powerW === 'number') {
      text('power', `${fmt(s.powerW, 1)} W`);
      const ths = s.hashrate.avg1m / 1000;
      const jth = s.power?.efficiencyJth ?? (ths > 0 ? s.powerW / ths : undefined);
      text('efficiency', jth !== undefined ? `${fmt(jth, 1)} J/TH` : '–');
    }
    const pw = s.power;
    if (pw) {
      const supply = [
        pw.inputV !== undefined ? `${fmt(pw.inputV, 2)} V` : '',
        pw.currentA !== undefined ? `${fmt(pw.currentA, 2)} A` : '',
      ].filter(Boolean);
      text('supply', supply.length ? supply.join(' · ') : 'not measured');
      text(
        'core',
        `${pw.coreV !== undefined ? `${fmt(pw.coreV * 1000, 0)} mV` : '–'} (set ${pw.setMv} mV)${pw.state !== 'on' ? ` · ${pw.state}` : ''}`,
      );
      for (const el of document.querySelectorAll('.pw')) el.hidden = false;
    }
    $('temps').replaceChildren(
      ...s.temperatures.map((t) => {
        const li = document.createElement('li');
        li.textContent = `${t.name}: ${t.celsius === null ? 'unreadable' : `${fmt(t.celsius, 1)} °C`}${t.limit ? ` (limit ${t.limit} °C)` : ''}`;
        return li;
      }),
    );
    const oh = $('overheat');
    oh.hidden = !s.overheat.active;
    oh.textContent = s.overheat.active ? `Overheat protection: ${s.overheat.reason || ''}` : '';
    // heat map: every chip of every chain
    const cells = [];
    for (const c of s.chains) {
      const mean = c.chips.length ? c.chips.reduce((a, x) => a + x.hashrate, 0) / c.chips.length : 0;
      for (const ch of c.chips) {
        const d = document.createElement('div');
        const rel = mean > 0 ? Math.min(2, ch.hashrate / mean) : 0;
        const hue = Math.round(Math.min(1, rel) * 120);
        d.className = `cell${ch.errors > 0 ? ' errors' : ''}`;
        d.style.background = `hsl(${hue},70%,${mean > 0 ? 50 : 30}%)`;
        d.dataset.chain = String(c.index);
        d.dataset.chip = String(ch.index);
        d.title = `chain ${c.index} chip ${ch.index}: ${fmt(ch.hashrate)} GH/s, ${ch.errors} errors`;
        d.textContent = `${c.index}.${ch.index}`;
        cells.push(d);
      }
    }
    $('heatmap').replaceChildren(...cells);
    $('pools')
      .querySelector('tbody')
      .replaceChildren(
        ...s.pools.map((p) => {
          const tr = document.createElement('tr');
          if (s.pool && s.pool.index === p.index) tr.className = 'active';
          for (const v of [
            p.index,
            p.url,
            p.user,
            p.status,
            si(p.difficulty),
            p.accepted,
            p.rejected,
            p.stale,
          ]) {
            const td = document.createElement('td');
            td.textContent = String(v);
            tr.append(td);
          }
          return tr;
        }),
      );
    $('events').replaceChildren(
      ...(s.events || [])
        .slice(-20)
        .reverse()
        .map((e) => {
          const li = document.createElement('li');
          const what =
            e.type === 'overheat'
              ? `overheat ${e.active ? 'tripped' : 'cleared'} (${e.sensor} ${e.celsius} °C)`
              : e.type === 'pool_switched'
                ? `pool ${e.from} → ${e.to}: ${e.reason}`
                : e.type === 'block_found'
                  ? `BLOCK FOUND ${e.hash}`
                  : e.type === 'share_rejected'
                    ? `share rejected: ${e.reason}`
                    : `${e.component}: ${e.message}`;
          li.textContent = `${new Date(e.time).toLocaleTimeString()} ${what}`;
          if (e.type === 'fault' || (e.type === 'overheat' && e.active)) li.className = 'bad';
          return li;
        }),
    );
    // settings form: show live values unless the user is editing
    const form = $('settings');
    if (!form.contains(document.activeElement) && !form.dataset.dirty) {
      $('set-frequency').value = s.frequencyMhz;
      $('set-autofan').checked = s.fan.mode === 'auto';
      $('set-fanspeed').value = s.fan.dutyPercent;
      $('set-temptarget').value = s.settings?.targetTempC ?? '';
      const cv = $('set-coreVoltage');
      if (s.limits.voltageMv && s.power) {
        cv.min = s.limits.voltageMv.min;
        cv.max = s.limits.voltageMv.max;
        cv.value = s.power.setMv;
        $('core-voltage-label').hidden = false;
      }
    }
  };

  const loadInfo = async () => {
    const [asic, info] = await Promise.all([
      fetch('/api/system/asic').then((r) => r.json()),
      fetch('/api/system/info').then((r) => r.json()),
    ]);
    ranges = asic;
    const f = $('set-frequency');
    f.min = asic.frequencyRange.min;
    f.max = asic.frequencyRange.max;
    const fs = $('set-fanspeed');
    fs.min = asic.fanspeedRange.min;
    fs.max = asic.fanspeedRange.max;
    $('set-stratumURL').value = info.stratumURL;
    $('set-stratumPort').value = info.stratumPort;
    $('set-stratumUser').value = info.stratumUser;
  };

  const logs = [];
  const addLog = (line) => {
    logs.push(line);
    if (logs.length > 200) logs.shift();
    const pre = $('logs');
    pre.textContent = logs.join('\n');
    pre.scrollTop = pre.scrollHeight;
  };

  const connect = () => {
    const es = new EventSource('/api/asicd/events');
    es.addEventListener('open', () => {
      $('conn').textContent = 'live';
      $('conn').className = 'badge running';
    });
    es.addEventListener('error', () => {
      $('conn').textContent = 'reconnecting';
      $('conn').className = 'badge off';
    });
    es.addEventListener('state', (ev) => render(JSON.parse(ev.data)));
    es.addEventListener('log', (ev) => addLog(JSON.parse(ev.data)));
    es.addEventListener('identify', () => {
      document.body.classList.remove('identify');
      void document.body.offsetWidth;
      document.body.classList.add('identify');
    });
  };

  // ---- writes ------------------------------------------------------------------------------------
  const write = async (method, path, body) => {
    const headers = { authorization: `Bearer ${token.value}` };
    if (body) headers['content-type'] = 'application/json';
    const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const t = await r.text();
    let msg = t;
    try {
      const j = JSON.parse(t);
      msg =
        j.error ||
        j.message ||
        `applied ${JSON.stringify(j.applied)}${j.restartRequired?.length ? `; at restart: ${j.restartRequired.join(', ')}` : ''}`;
    } catch {}
    return { ok: r.ok, status: r.status, msg };
  };
  const form = $('settings');
  form.addEventListener('input', () => {
    form.dataset.dirty = '1';
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    const num = (id) => ($(id).value === '' ? undefined : Number($(id).value));
    const f = num('set-frequency');
    if (f !== undefined) body.frequency = f;
    body.autofanspeed = $('set-autofan').checked ? 1 : 0;
    if (!$('set-autofan').checked && num('set-fanspeed') !== undefined) body.fanspeed = num('set-fanspeed');
    const info = await fetch('/api/system/info').then((r) => r.json());
    const cv = num('set-coreVoltage');
    if (!$('core-voltage-label').hidden && cv !== undefined && cv !== info.coreVoltage) body.coreVoltage = cv;
    const tt = num('set-temptarget');
    if (tt !== undefined && tt !== info.temptarget) body.temptarget = tt;
    if ($('set-stratumURL').value !== info.stratumURL) body.stratumURL = $('set-stratumURL').value;
    if (num('set-stratumPort') !== info.stratumPort) body.stratumPort = num('set-stratumPort');
    if ($('set-stratumUser').value !== info.stratumUser) body.stratumUser = $('set-stratumUser').value;
    const r = await write('PATCH', '/api/system', body);
    const st = $('settings-status');
    st.textContent = `${r.ok ? 'saved' : `refused (${r.status})`}: ${r.msg}`;
    st.dataset.status = String(r.status);
    delete form.dataset.dirty;
  });
  for (const b of document.querySelectorAll('[data-action]')) {
    b.addEventListener('click', async () => {
      const r = await write('POST', `/api/system/${b.dataset.action}`);
      const st = $('settings-status');
      st.textContent = `${b.dataset.action}: ${r.ok ? r.msg : `refused (${r.status}): ${r.msg}`}`;
      st.dataset.status = String(r.status);
    });
  }

  void loadInfo().catch(() => {});
  void loadHistory();
  setInterval(() => void loadHistory(), 10_000);
  connect();
  void ranges;
})();
