// Two runs from runners, one after the other. `plant`: keeps what it reads on stdin in memory
// and writes it into files in every place a run might write. `scan HEX...`: lists those places
// for the planted files and looks for secrets in every resident page of its own memory (what
// it inherited from the runner it was started from). The secrets come as hex of their bytes
// XOR 0x5A, so this process never holds one itself: it searches XORed memory for them (and
// zeroes each XORed chunk at once, so no secret it made stays for a later chunk to find).
const fs = require('fs');
const os = require('os');
const path = require('path');

const [mode, ...hexes] = process.argv.slice(2);
const held = fs.readFileSync(0); // what it was given itself: the control for the search
const places = [process.cwd(), os.tmpdir(), os.homedir(), '/tmp', '/var/tmp', '/dev/shm'];

if (mode === 'plant') {
  let written = 0;
  for (const [i, place] of places.entries()) {
    try {
      fs.writeFileSync(path.join(place, `planted-${i}`), held);
      written++;
    } catch {
      // a place this run may not write: nothing left there
    }
  }
  globalThis.planted = held.toString();
  console.log(`planted: ${written > 0}`);
} else {
  const files = [];
  for (const place of places) {
    try {
      files.push(...fs.readdirSync(place).filter((name) => name.startsWith('planted-')));
    } catch {
      // not readable: nothing of another run can be found there either
    }
  }
  const needles = hexes.map((hex) => Buffer.from(hex, 'hex'));
  const found = new Set();
  const PAGE = 4096;
  const chunk = Buffer.alloc(PAGE * 256);
  const mem = fs.openSync('/proc/self/mem', 'r');
  const pagemap = fs.openSync('/proc/self/pagemap', 'r');
  let region = null;
  const regions = [];
  for (const line of fs.readFileSync('/proc/self/smaps', 'latin1').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+)(?: +\S+){3} *(.*)$/.exec(line);
    if (header) {
      region = { start: parseInt(header[1], 16), end: parseInt(header[2], 16),
                 perms: header[3], name: header[4], rss: 0 };
      regions.push(region);
    } else if (region && line.startsWith('Rss:')) {
      region.rss = parseInt(line.split(/\s+/)[1], 10);
    }
  }
  for (const { start, end, perms, name, rss } of regions) {
    if (perms[0] !== 'r' || rss === 0 || ['[vvar]', '[vsyscall]', '[vvar_vclock]'].includes(name)) {
      continue;
    }
    // Only the pages present (or swapped out): the others hold nothing yet.
    const pages = (end - start) / PAGE;
    const entries = Buffer.alloc(pages * 8);
    fs.readSync(pagemap, entries, 0, entries.length, (start / PAGE) * 8);
    const present = (page) => (entries[page * 8 + 7] & 0xc0) !== 0;
    for (let page = 0; page < pages;) {
      if (!present(page)) {
        page++;
        continue;
      }
      let run = page;
      while (run < pages && run - page < chunk.length / PAGE - 1 && present(run)) run++;
      // One page more when there is one, so that a secret across the end is seen.
      const last = Math.min(pages, run + 1);
      let read = 0;
      try {
        read = fs.readSync(mem, chunk, 0, (last - page) * PAGE, start + page * PAGE);
      } catch {
        // unreadable (a guard page): nothing to find there
      }
      for (let j = 0; j < read; j++) chunk[j] ^= 0x5a;
      const view = chunk.subarray(0, read);
      needles.forEach((needle, i) => {
        if (view.indexOf(needle) >= 0) found.add(i);
      });
      chunk.fill(0);
      page = run;
    }
  }
  console.log(`found: [${[...found].sort().join(', ')}]`);
  console.log(`files: [${files.sort().join(', ')}]`);
  console.log(`held: ${held.length}`);
}
