// Reads a topic from its beginning with kafkajs, a client with no librdkafka inside, and prints one
// JSON object on stdout: {"records":[{"partition","offset","key","value"}],"error":null}. Keys and
// values are base64 (null stays null) so the test compares bytes, not text.
//
// Usage: node kafkajs-read.js --brokers host:port[,host:port] --topic NAME --expect N [--timeout-ms MS]
//
// Only the consumer is used: kafkajs's idempotent producer does not work against the embedded
// (mock) Kafka. A consumer group of its own with fromBeginning reads every partition from offset 0.
// Exit 0 once N records were read; 1 with "error" set if kafkajs failed (an unknown codec, say) or
// the timeout passed first, still printing what was read.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`unexpected argument '${argv[i]}'`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['brokers', 'topic', 'expect']) {
    if (!out[required]) throw new Error(`--${required} is required`);
  }
  return out;
}

async function main() {
  const options = args(process.argv.slice(2));
  const expect = Number(options.expect);
  const timeoutMs = Number(options['timeout-ms'] || 60000);
  const records = [];
  let error = null;

  const kafka = new Kafka({
    clientId: 'mesh-test-kafkajs',
    brokers: options.brokers.split(','),
    // kafkajs logs to stdout by default; stdout carries only the JSON result.
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, log }) => process.stderr.write(`[kafkajs] ${namespace}: ${log.message}\n`),
  });
  const consumer = kafka.consumer({ groupId: `mesh-test-kafkajs-${process.pid}-${Date.now()}`, retry: { retries: 3 } });

  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => {
    error = error || `timed out after ${timeoutMs} ms with ${records.length} of ${expect} records`;
    finish();
  }, timeoutMs);
  consumer.on(consumer.events.CRASH, (event) => {
    error = `consumer crashed: ${event.payload.error && event.payload.error.message}`;
    finish();
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString('base64'),
          value: message.value === null ? null : message.value.toString('base64'),
        });
        if (records.length >= expect) finish();
      },
    });
    await finished;
  } catch (e) {
    error = error || `${e.name}: ${e.message}`;
  } finally {
    clearTimeout(timer);
    try { await consumer.disconnect(); } catch (_) { /* the result is already known */ }
  }
  process.stdout.write(JSON.stringify({ records, error }) + '\n');
  process.exit(error ? 1 : 0);
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ records: [], error: `${e.name}: ${e.message}` }) + '\n');
  process.exit(1);
});
