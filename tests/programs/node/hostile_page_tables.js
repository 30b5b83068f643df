// Grows page tables, memory no resident size shows: allocates ArrayBuffers of 4 GB it never
// writes and reads one byte every 2 MB of each (each read costs a page-table page).
const count = Number(process.argv[2]);
const buffers = [];
let made = 0;
for (let i = 0; i < count; i++) {
  let view;
  try {
    view = new Uint8Array(new ArrayBuffer(4 * 1024 ** 3));
  } catch (e) {
    console.log(`buffer ${i + 1} refused: ${e.name}`);
    break;
  }
  let sum = 0;
  for (let offset = 0; offset < view.length; offset += 2 * 1024 * 1024) sum += view[offset];
  buffers.push(view);
  made++;
}
const tables = require("fs").readFileSync("/proc/self/status", "utf8").match(/VmPTE:\s+(\d+)/)[1];
console.log(`made ${made} buffers of 4 GB, page tables ${tables} kB`);
