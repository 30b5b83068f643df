const { parentPort } = require("worker_threads");
const heapLimit = require("v8").getHeapStatistics().heap_size_limit;
parentPort.postMessage([process.argv.slice(2), process.execArgv, Object.keys(require.cache).length,
                        heapLimit]);
