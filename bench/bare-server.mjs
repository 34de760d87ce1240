// The floor of `npm run bench:ceiling`: a bare node:http server with none of the service's work —
// no framework, validation, scheduler, inference or encoding. GET answers {"status":"ok"}; POST
// reads the body and answers `BYTES` bytes as image/png (the size of the service's answer), so a
// client's round trip to it is the least any Node HTTP front end costs on this machine.
// usage: node bench/bare-server.mjs PORT BYTES  (prints "listening" when ready)
import http from 'node:http';

const [port, bytes] = process.argv.slice(2).map(Number);
const image = Buffer.alloc(bytes, 7);
const ok = Buffer.from('{"status":"ok"}');
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = req.method === 'POST' ? image : ok;
      res.writeHead(200, { 'content-type': req.method === 'POST' ? 'image/png' : 'application/json', 'content-length': body.length });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
