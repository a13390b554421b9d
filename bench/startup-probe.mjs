// Preloaded (--import) into the asicd processes bench/startup.bench.ts starts. Plain JavaScript so it
// adds no loader of its own. Reports on fd 3, one JSON line each:
//  - at exit: {type:'exit', cpuS, maxRssMB} (process.resourceUsage: all CPU and the peak RSS so far);
//  - the first time a log line with "state":"initialising" is written (the chains start initialising):
//    {type:'init', cpuS, maxRssMB};
//  - on SIGUSR2: {type:'idle', rssMB, maxRssMB} (the idle daemon's RSS now).
import { writeSync } from 'node:fs';

const report = (type, extra = {}) => {
  const r = process.resourceUsage();
  const line = { type, cpuS: (r.userCPUTime + r.systemCPUTime) / 1e6, maxRssMB: r.maxRSS / 1024, ...extra };
  try {
    writeSync(3, `${JSON.stringify(line)}\n`);
  } catch {
    // parent gone
  }
};
let seen = false;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write;
  stream.write = function (chunk, ...rest) {
    if (!seen && String(chunk).includes('"state":"initialising"')) {
      seen = true;
      report('init');
    }
    return write.call(this, chunk, ...rest);
  };
}
process.on('SIGUSR2', () => report('idle', { rssMB: process.memoryUsage.rss() / 2 ** 20 }));
process.on('exit', () => report('exit'));
