'use strict';
// The Node runner (executor/sandbox/runner.py has the protocol). Started as
//     node --max-old-space-size=H --require <this file> main.js CONTROL STATUS
// it is a preload module: Node has started and prepared the main module's run (process.argv[1]
// is <box>/main.js), and runs it as soon as this returns, from its own entry point, as
// `node main.js` would: CommonJS or ES module, require.main, stack traces, exit codes, the
// uncaught exception and unhandled rejection handlers. Here it prepares what nearly every
// program's first console.log needs (warmUp), waits for the go signal, then puts back what a
// fresh `node main.js ARGS` has: V8's flags, process.argv, process.execArgv, no trace of
// itself in require.cache, no descriptor of its own.
const fs = require('fs');
const path = require('path');

// Node compiles its own modules when first used, and from source under the runner's flags:
// V8 refuses the code cache built into the binary when its flags differ from the build's,
// and every run has --max-old-space-size (already applied: the heap's limit is set when it is
// made). So while it starts, the main thread sets that flag back to its default, and puts it
// back before the program runs (what workers the program starts get their limit from). Only
// the main thread does: the flags are the process's, and a worker starts while the program
// runs. (A worker's process.chdir is a stub marked `disabled`: known before worker_threads
// is loaded, which is one of the modules the cache makes cheap.)
const HEAP_FLAG = process.execArgv.find((arg) => arg.startsWith('--max-old-space-size='));
const relaxed = process.chdir.disabled !== true && HEAP_FLAG !== undefined && relaxFlags();
const { isMainThread } = require('worker_threads');

const INT = 4;

function readExactly(fd, size) {
  const buffer = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    let read;
    try {
      read = fs.readSync(fd, buffer, done, size - done, null);
    } catch (error) {
      if (error.code === 'EAGAIN' || error.code === 'EINTR') continue;
      return null;
    }
    if (read === 0) return null;
    done += read;
  }
  return buffer;
}

function readFrame(fd) {
  const header = readExactly(fd, INT);
  if (header === null) return null;
  const items = [];
  for (let count = header.readUInt32BE(0); count > 0; count--) {
    const length = readExactly(fd, INT);
    const item = length === null ? null : readExactly(fd, length.readUInt32BE(0));
    if (item === null) return null;
    items.push(item.toString('utf8'));
  }
  return items;
}

function relaxFlags() {
  try {
    require('v8').setFlagsFromString('--max-old-space-size=0');
    return true;
  } catch {
    return false; // a Node whose flags are frozen once started: it starts as it is
  }
}

function restoreFlags() {
  if (relaxed) require('v8').setFlagsFromString(HEAP_FLAG);
}

// Paid here, before the go signal, what a program's first console.log to a pipe would pay
// after it: compiling the stream modules, and the console's formatting and write path, run
// once on a sink that keeps nothing. It touches no descriptor and nothing a program can
// reach: the program gets its own process.stdout, made on first use as in a fresh
// `node main.js`.
function warmUp() {
  require('net');
  const { Writable } = require('stream');
  const { Console } = require('console');
  const sink = new Writable({
    write(chunk, encoding, callback) {
      callback();
    },
  });
  new Console(sink, sink).log('%s %d', 'warm', 1, { up: [1] });
}

function run() {
  const control = Number(process.argv[process.argv.length - 2]);
  const status = Number(process.argv[process.argv.length - 1]);
  warmUp();
  fs.writeSync(status, 'r');
  const frame = readFrame(control);
  if (frame === null || frame.length === 0) process.exit(0); // the service is gone
  const [entry, ...args] = frame;
  if (entry !== path.basename(process.argv[1])) {
    fs.writeSync(status, 'c'); // started for another entry file: the service runs it cold
    process.exit(0);
  }
  restoreFlags();
  process.argv.splice(2, process.argv.length - 2, ...args);
  forgetMe();
  fs.writeSync(status, 'g');
  fs.closeSync(control);
  fs.closeSync(status);
}

// What a fresh `node main.js` has: no preload option, no trace of this module.
function forgetMe() {
  const preload = process.execArgv.indexOf('--require');
  if (preload >= 0 && process.execArgv[preload + 1] === __filename) {
    process.execArgv.splice(preload, 2);
  }
  delete require.cache[__filename];
}

// Worker threads run the preload modules too (and inherit the option): there it only forgets
// itself.
if (isMainThread) {
  run();
} else {
  restoreFlags();
  forgetMe();
}
