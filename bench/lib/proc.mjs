// Process helpers: start servers pinned to a core, read their CPU time and memory from /proc.
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const HZ = 100; // USER_HZ on Linux
let hasTaskset;

/** True when `taskset` exists (then servers run on core 0, load generators on core 1). */
export function canPin() {
  if (hasTaskset === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      hasTaskset = true;
    } catch {
      hasTaskset = false;
    }
  }
  return hasTaskset;
}

/** Spawns `node args…` pinned to `core` (when possible); resolves once its output matches `ready`. */
export function startNode(args, opts = {}) {
  return startProcess(process.execPath, args, opts);
}

/** Spawns any command pinned to `core` (its children inherit the pinning); resolves once stdout or stderr matches `ready`. */
export function startProcess(command, args, { core = 0, ready, env = {}, cwd, timeoutMs = 20000 } = {}) {
  const cmd = canPin() ? 'taskset' : command;
  const argv = canPin() ? ['-c', String(core), command, ...args] : args;
  // Its own process group, so stopping it also stops whatever it spawned (Pushpin's processes).
  const child = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.group = true;
  track(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal(child, 'SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms: ${args.join(' ')}\n${out}\n${err}`));
    }, timeoutMs);
    let done = false;
    const check = () => {
      const m = done ? null : ready.exec(out) ?? ready.exec(err);
      if (m) {
        done = true;
        clearTimeout(timer);
        resolve({ child, pid: child.pid, match: m, stop: () => stop(child), stderr: () => err });
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`server exited (${code}) before it was ready: ${args.join(' ')}\n${out}\n${err}`));
    });
  });
}

// Every process the bench starts is remembered until it exits, and killed (by its PID, or its
// own process group) when the bench exits, fails or is interrupted: no server outlives a run.
const children = new Set();

/** Remembers a child process so it is killed if the bench ends before stopping it. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/**
 * Signals a child we started and everything it spawned: its process group when it was spawned
 * detached, and every descendant by PID (Pushpin's runner puts each of its services in a group of
 * its own, so the group alone would leave them running).
 */
function signal(child, sig) {
  const pids = exited(child) ? [] : [...descendants([child.pid])].filter((p) => p !== child.pid);
  if (child.group) {
    try {
      process.kill(-child.pid, sig);
    } catch {} // group already gone
  }
  if (!exited(child)) child.kill(sig);
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {} // already gone
  }
}

function killAll() {
  for (const child of children) signal(child, 'SIGKILL');
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    console.error(`\nbench: ${sig}, stopping ${children.size} child process(es)`);
    killAll();
    process.exit(130);
  });
}

/** Stops a child we started (by its PID / process group), waiting for it to exit. */
export function stop(child) {
  return new Promise((resolve) => {
    if (exited(child)) return resolve();
    const t = setTimeout(() => signal(child, 'SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      if (child.group) signal(child, 'SIGKILL'); // anything it left behind in its group
      resolve();
    });
    signal(child, 'SIGTERM');
  });
}

/** CPU time (user + system) a process has used, in microseconds. */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / HZ;
}

/**
 * CPU time of a process in microseconds at nanosecond resolution: the sum of its threads' run
 * time from /proc/PID/task/TID/schedstat (cpuMicros counts 10 ms clock ticks, too coarse for a
 * few-second window held to a 3 % goal). Threads that ended are not counted.
 */
export function threadCpuMicros(pid) {
  const { main, other } = threadCpuSplit(pid);
  return main + other;
}

/**
 * The same, split: `main` is the process's main thread (the JavaScript event loop), `other` every
 * other thread (worker threads, V8's compiler and GC helpers, libuv's pool).
 */
export function threadCpuSplit(pid) {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      if (tid === String(pid)) main += ns;
      else other += ns;
    } catch {}
  }
  return { main: main / 1000, other: other / 1000 };
}

/** The given PIDs and all their descendants, read from /proc. */
export function descendants(rootPids) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const tree = new Set(rootPids);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) if (!tree.has(pid) && tree.has(ppid)) tree.add(pid), (grew = true);
  }
  return tree;
}

/** CPU time of processes and all their descendants (a server made of several processes), in microseconds. */
export function treeCpuMicros(rootPids) {
  let total = 0;
  for (const pid of descendants(rootPids)) {
    try {
      total += cpuMicros(pid);
    } catch {}
  }
  return total;
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The soft and hard limits on open files for processes we start. */
export function fdLimit() {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim());
  } catch {
    return 1024;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
