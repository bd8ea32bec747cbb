// Preloaded into the app's process by the benchmark only (node --import): answers IPC questions
// about event-loop delay, peak memory and threads. No route, nothing in src/, nothing in production.
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

// Node 24 records the interval between 1 ms timer ticks, so the delay is that interval minus 1 ms.
const RESOLUTION_MS = 1;
const RSS_SAMPLE_MS = 50;

const threads = () => readdirSync('/proc/self/task').length;
// Taken before the app runs: libuv starts its thread pool on first use, so later threads are mostly the pool.
const threadsAtStart = threads();

const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();
let rssPeak = process.memoryUsage.rss();
let utilizationSince = performance.eventLoopUtilization();
let mainThreadSince = process.threadCpuUsage();
setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), RSS_SAMPLE_MS).unref();

const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);

process.on('message', (message: { type: string; id: number }) => {
  const answer = (value: unknown) => process.send!({ type: 'answer', id: message.id, value });
  if (message.type === 'reset') {
    delay.reset();
    rssPeak = process.memoryUsage.rss();
    utilizationSince = performance.eventLoopUtilization();
    mainThreadSince = process.threadCpuUsage();
    answer(null);
  } else if (message.type === 'report') {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    const utilization = performance.eventLoopUtilization(utilizationSince);
    const mainThread = process.threadCpuUsage(mainThreadSince);
    answer({
      // Share of the window the event loop spent running callbacks, and how long that was in all.
      event_loop_utilization: Math.round(utilization.utilization * 1000) / 1000,
      event_loop_active_ms: Math.round(utilization.active),
      // CPU time of the event loop's own thread (user + system), unlike the above not inflated by waiting for a core.
      main_thread_cpu_ms: Math.round((mainThread.user + mainThread.system) / 1000),
      event_loop_delay_ms: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      rss_mb_peak: Math.round(Math.max(rssPeak, process.resourceUsage().maxRSS * 1024) / 2 ** 20),
      threads_at_start: threadsAtStart,
      threads_now: threads(),
      uv_threadpool_size: process.env.UV_THREADPOOL_SIZE ?? null,
    });
  }
});
