#!/usr/bin/env node
// gRPC peer on @grpc/grpc-js (npm, installed by `make test-deps` under
// build/npm) for the kspan integration tests, speaking the same service and
// scenarios as grpc_server.py / clients/grpc_client.py, raw bytes in and out.
//
//   grpc_js_peer.js server [--host 127.0.0.1] [--port 0]   prints READY <port>
//   grpc_js_peer.js client HOST:PORT SCENARIO [ARGS...]     prints one JSON line
'use strict';
const grpc = require('@grpc/grpc-js');

const SERVICE = 'kspan.test.Echo';
const raw = (b) => b;
const LIMITS = {
  'grpc.max_receive_message_length': 16 << 20,
  'grpc.max_send_message_length': 16 << 20,
};

function method(name, requestStream, responseStream) {
  return {
    path: `/${SERVICE}/${name}`, requestStream, responseStream,
    requestSerialize: raw, requestDeserialize: raw,
    responseSerialize: raw, responseDeserialize: raw,
  };
}

const DEF = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
};

function serve(host, port) {
  const server = new grpc.Server(LIMITS);
  server.addService(DEF, {
    Unary(call, cb) {
      const req = call.request.toString();
      if (req.startsWith('status:')) {
        const [, name, msg] = req.split(':');
        cb({ code: grpc.status[name], details: msg || name });
      } else if (req.startsWith('sleep:')) {
        setTimeout(() => cb(null, call.request), parseInt(req.slice(6), 10));
      } else {
        cb(null, call.request);
      }
    },
    ServerStream(call) {
      const [n, size] = call.request.toString().split(':').map(Number);
      for (let i = 0; i < n; i++) call.write(Buffer.alloc(size, 65 + (i % 26)));
      call.end();
    },
    ClientStream(call, cb) {
      let total = 0;
      call.on('data', (m) => { total += m.length; });
      call.on('end', () => cb(null, Buffer.from(String(total))));
    },
    Bidi(call) {
      call.on('data', (m) => call.write(m));
      call.on('end', () => call.end());
    },
  });
  server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
    if (err) throw err;
    process.stdout.write(`READY ${p}\n`);
  });
}

function codeName(err) {
  return err ? grpc.status[err.code] : 'OK';
}

async function run(target, scenario, args) {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), LIMITS);
  await new Promise((res, rej) => client.waitForReady(Date.now() + 20000, (e) => (e ? rej(e) : res())));
  const deadline = (ms) => ({ deadline: Date.now() + ms });
  const unary = (buf, ms) => new Promise((res) => {
    client.makeUnaryRequest(DEF.Unary.path, raw, raw, buf, new grpc.Metadata(), deadline(ms),
      (err, r) => res([codeName(err), r]));
  });
  const codes = [];
  const sizes = [];
  const record = ([code, r]) => { codes.push(code); sizes.push(r ? r.length : null); };
  const streamRead = (call) => new Promise((res) => {
    let total = 0;
    call.on('data', (m) => { total += m.length; });
    call.on('error', (e) => res([codeName(e), null]));
    call.on('end', () => res(['OK', { length: total }]));
  });
  const n = Number(args[0]);
  const size = Number(args[1]);
  switch (scenario) {
    case 'unary':
      for (let i = 0; i < n; i++) record(await unary(Buffer.alloc(size, 'x'), 20000));
      break;
    case 'status':
      record(await unary(Buffer.from(`status:${args[0]}:failed on purpose`), 20000));
      break;
    case 'deadline':
      record(await unary(Buffer.from(`sleep:${args[1]}`), Number(args[0])));
      break;
    case 'server_stream':
      record(await streamRead(client.makeServerStreamRequest(DEF.ServerStream.path, raw, raw,
        Buffer.from(`${n}:${size}`), new grpc.Metadata(), deadline(20000))));
      break;
    case 'client_stream':
      record(await new Promise((res) => {
        const call = client.makeClientStreamRequest(DEF.ClientStream.path, raw, raw,
          new grpc.Metadata(), deadline(20000), (err, r) => res([codeName(err), r]));
        for (let i = 0; i < n; i++) call.write(Buffer.alloc(size, 'y'));
        call.end();
      }));
      break;
    case 'bidi': {
      const call = client.makeBidiStreamRequest(DEF.Bidi.path, raw, raw, new grpc.Metadata(),
        deadline(20000));
      const done = streamRead(call);
      for (let i = 0; i < n; i++) call.write(Buffer.alloc(size, 'z'));
      call.end();
      record(await done);
      break;
    }
    case 'concurrent': {
      const all = [];
      for (let i = 0; i < n; i++) all.push(unary(Buffer.from(`c${i}`), 30000));
      (await Promise.all(all)).forEach(record);
      break;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
  client.close();
  process.stdout.write(`${JSON.stringify({ codes, sizes })}\n`);
}

const argv = process.argv.slice(2);
if (argv[0] === 'server') {
  const opt = (name, dflt) => { const i = argv.indexOf(name); return i > 0 ? argv[i + 1] : dflt; };
  serve(opt('--host', '127.0.0.1'), Number(opt('--port', '0')));
} else if (argv[0] === 'client') {
  run(argv[1], argv[2], argv.slice(3)).catch((e) => { console.error(e); process.exit(1); });
} else {
  console.error('usage: grpc_js_peer.js server|client ...');
  process.exit(2);
}
