// An uncaught error with a chain of causes (and an AggregateError inside): Node prints the
// whole chain, with "... lines matching cause stack trace ..." where the stacks meet.
function parse(text) {
  try {
    JSON.parse(text);
  } catch (error) {
    throw new RangeError(`cannot parse ${text}`, { cause: error });
  }
}
function load() {
  try {
    parse("{not json");
  } catch (error) {
    throw new Error("loading failed", { cause: new AggregateError([error], "all failed") });
  }
}
load();
