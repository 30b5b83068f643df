const { greet } = require("./helper.js");
console.log(greet("multi"));
