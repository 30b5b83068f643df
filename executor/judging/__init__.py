"""Contest judging: checkers, test request and response parts, problem packages, the judge."""
