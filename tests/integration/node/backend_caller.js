// A node HTTP server whose handler calls a backend with http.get (the
// default agent: keep-alive in node >= 19), for the connected-trace tests.
//
//   node backend_caller.js BACKEND_PORT STYLE
//       listens on 127.0.0.1, port 0; prints "READY <port>"; for a request
//       to /front/<token> GETs http://127.0.0.1:BACKEND_PORT/backend/<token>
//       and answers 200 once the backend answered. STYLE is when the backend
//       request is made:
//         callback   in the request handler itself
//         async      in an async handler, after an await of a settled promise
//                    (a microtask)
//         immediate  in a setImmediate callback (after the read callback ended)
'use strict';

const http = require('http');

const backendPort = Number(process.argv[2]);
const style = process.argv[3] || 'callback';

function callBackend(token, done) {
  http.get({ host: '127.0.0.1', port: backendPort, path: '/backend/' + token }, (res) => {
    res.resume();
    res.on('end', () => done(null, res.statusCode));
  }).on('error', (err) => done(err));
}

function callBackendAsync(token) {
  return new Promise((resolve, reject) =>
    callBackend(token, (err, status) => (err ? reject(err) : resolve(status))));
}

function answer(res, err, status) {
  res.writeHead(err ? 502 : status, { 'content-type': 'text/plain' });
  res.end(err ? String(err) : 'ok\n');
}

function tokenOf(req) {
  return req.url.replace(/^\/front\//, '');
}

const handlers = {
  callback(req, res) {
    callBackend(tokenOf(req), (err, status) => answer(res, err, status));
  },
  async async(req, res) {
    await Promise.resolve();
    try {
      answer(res, null, await callBackendAsync(tokenOf(req)));
    } catch (err) {
      answer(res, err);
    }
  },
  immediate(req, res) {
    setImmediate(() => callBackend(tokenOf(req), (err, status) => answer(res, err, status)));
  },
};

const handler = handlers[style];
if (!handler) {
  process.stderr.write('unknown style ' + style + '\n');
  process.exit(2);
}
const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('READY ' + server.address().port + '\n');
});
