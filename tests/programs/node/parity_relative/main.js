// Relative requires: a sibling file by name, with and without its suffix, a JSON file, and a
// module that requires the main one back (require.main, a cycle).
const one = require("./lib.js");
const two = require("./lib");
const data = require("./data.json");
console.log(one === two, one.where(), data.answer, require.main.filename === __filename);
console.log(one.mainSeen());
