// process.exitCode, output without a final newline on both streams, and a timer that still
// runs before the exit.
process.stdout.write("no newline on stdout");
process.stderr.write("no newline on stderr");
process.exitCode = 7;
setTimeout(() => process.stdout.write(" | after a timer"), 10);
