const { parentPort } = require("worker_threads");
parentPort.postMessage([process.argv.slice(2), process.execArgv, Object.keys(require.cache).length]);
