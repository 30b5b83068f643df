// Connects to the service's own port on 127.0.0.1 and over IPv6, and sends UDP.
const net = require("net");
const dgram = require("dgram");
const port = Number(process.argv[2]);
const results = [];
function done(name, outcome) {
  results.push(`${name}: ${outcome}`);
  if (results.length === 3) console.log(results.sort().join("\n"));
}
for (const host of ["127.0.0.1", "::1"]) {
  try {
    const socket = net.connect({ host, port }, () => { done(`tcp ${host}`, "allowed"); socket.end(); });
    socket.on("error", (e) => done(`tcp ${host}`, e.code));
  } catch (e) {
    done(`tcp ${host}`, e.code);
  }
}
try {
  const udp = dgram.createSocket("udp4");
  udp.on("error", (e) => done("udp", e.code));
  udp.send("x", port, "127.0.0.1", (e) => { done("udp", e ? e.code : "allowed"); udp.close(); });
} catch (e) {
  done("udp", e.code);
}
