// Prints V8's out-of-memory line and aborts like V8 does, at a few MB: no evidence.
process.stderr.write("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n");
process.abort();
