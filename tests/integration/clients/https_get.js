// A node https client (OpenSSL linked into node, TLS through memory BIOs):
// node https_get.js BASE_URL CONNECTIONS REQUESTS PREFIX. Opens CONNECTIONS
// connections at once, each its own keep-alive agent with one socket, and
// sends REQUESTS GETs one after another on each, to BASE_URL + PREFIX
// /c<i>/r<j>. Prints one JSON line: for each connection its local port,
// paths and status codes.
'use strict';
const https = require('https');

const [base, conns, reqs, prefix] = process.argv.slice(2);

function get(agent, path) {
  return new Promise((resolve, reject) => {
    const req = https.get(base + path, {agent, rejectUnauthorized: false}, (res) => {
      const port = res.socket.localPort;
      res.resume();
      res.on('end', () => resolve({status: res.statusCode, port}));
    });
    req.on('error', reject);
  });
}

async function connection(i) {
  const agent = new https.Agent({keepAlive: true, maxSockets: 1});
  const out = {local_port: 0, paths: [], statuses: []};
  for (let j = 0; j < Number(reqs); j++) {
    const path = `${prefix}/c${i}/r${j}`;
    const r = await get(agent, path);
    if (out.local_port && out.local_port !== r.port)
      throw new Error(`connection ${i} changed its local port`);
    out.local_port = r.port;
    out.paths.push(path);
    out.statuses.push(r.status);
  }
  agent.destroy();
  return out;
}

Promise.all(Array.from({length: Number(conns)}, (_, i) => connection(i)))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
