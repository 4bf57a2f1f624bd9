// A node https server (OpenSSL linked into node, TLS through memory BIOs):
// node https_server.js CERT KEY. Prints `READY <port>` once listening on
// 127.0.0.1; answers every request with "ok\n".
'use strict';
const fs = require('fs');
const https = require('https');

const [cert, key] = process.argv.slice(2);
const srv = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)},
                               (req, res) => res.end('ok\n'));
srv.listen(0, '127.0.0.1', () => console.log('READY ' + srv.address().port));
