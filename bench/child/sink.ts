// The tests' SMTP sink (real SMTP server + mailparser) in a process of its own, driven over IPC.
import { recipients, startSmtpSink } from '../../test/support/smtp.ts';

type Question = { type: 'recipients'; id: number } | { type: 'expect'; id: number; to: string; timeoutMs: number };

const sink = await startSmtpSink();
const now = () => performance.timeOrigin + performance.now();

process.on('message', (message: Question) => {
  if (message.type === 'recipients') {
    process.send!({ type: 'answer', id: message.id, value: sink.messages.flatMap(recipients) });
  } else if (message.type === 'expect') {
    // Only messages arriving from now on: the same recipient may have had mail before.
    const seen = new Set(sink.messages);
    const arrived = sink.waitFor((mail) => !seen.has(mail) && recipients(mail).includes(message.to), message.timeoutMs);
    process.send!({ type: 'listening', id: message.id });
    arrived.then(
      () => process.send!({ type: 'arrived', id: message.id, at: now() }),
      () => process.send!({ type: 'arrived', id: message.id, at: null }),
    );
  }
});
process.on('SIGTERM', () => void sink.stop().finally(() => process.exit(0)));
process.send!({ type: 'ready', url: sink.url });
